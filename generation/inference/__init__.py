"""Everything that imports torch, diffusers or transformers: pipelines, the pure runner, the embedded models.

Only the worker and the commands that generate import this package; the web
process never does (a test imports every web module and checks).
"""
