"""Everything that imports torch, diffusers or transformers: pipelines, the pure runner, the embedded models.

Only the worker and the commands that generate import this package; the web
process never does (a test imports every web module and checks).
"""
import logging


def _quiet_torchvision_fallback(record: logging.LogRecord) -> bool:
    # diffusers imports CLIPImageProcessor (the safety checker's feature extractor); without torchvision, transformers
    # uses its PIL twin, which is what SD Studio wants, and warns about it at every process start.
    return "requires torchvision (not installed)" not in record.getMessage()


logging.getLogger("transformers.utils.import_utils").addFilter(_quiet_torchvision_fallback)
