"""Worker settings for the post-processing tests: SD Studio's settings with an output storage that is slow to write.

Before saving a file it drops a marker and waits, so a test knows the worker is
storing an output (the image is made, the row is still running) and can kill it
there; a `disk-full` file in the marker folder makes that save fail with ENOSPC. Used only by tests, through DJANGO_SETTINGS_MODULE of a worker process.
"""
import os

from sdstudio.settings import *  # noqa: F401,F403

STORAGES = {**STORAGES, "default": {"BACKEND": "generation.tests.slow_storage_settings.SlowStorage"}}  # noqa: F405

from django.core.files.storage import FileSystemStorage  # noqa: E402


class SlowStorage(FileSystemStorage):
    def _save(self, name, content):
        import time
        from pathlib import Path

        if name.startswith("outputs/"):
            markers = Path(os.environ["SDSTUDIO_TEST_MARKER_DIR"])
            (markers / "saving").write_text(name)
            if os.environ.get("SDSTUDIO_TEST_SAVE_FAILS"):
                raise OSError(28, "No space left on device")
            time.sleep(float(os.environ.get("SDSTUDIO_TEST_SAVE_SECONDS", "30")))
            if (markers / "disk-full").exists():  # the disk filled up while this file was being written
                raise OSError(28, "No space left on device")
        return super()._save(name, content)
