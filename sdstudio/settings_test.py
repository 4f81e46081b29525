"""Test settings: the real settings module, with a private Redis port, a scratch media folder and no network."""
import os
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("DJANGO_DEBUG", "1")

from sdstudio.localredis import free_port  # noqa: E402

# The suite starts its own redis-server on this port (tests flush and stop it).
TEST_REDIS_PORT = int(os.environ.get("SDSTUDIO_TEST_REDIS_PORT") or free_port())
os.environ["SDSTUDIO_TEST_REDIS_PORT"] = str(TEST_REDIS_PORT)
os.environ["REDIS_URL"] = f"redis://127.0.0.1:{TEST_REDIS_PORT}/0"
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="sdstudio-test-media-"))

from sdstudio.settings import *  # noqa: E402,F401,F403
from sdstudio.settings import BASE_DIR, DATABASES  # noqa: E402

SDSTUDIO_MODEL_CACHE = Path(os.environ.get("SDSTUDIO_MODEL_CACHE") or BASE_DIR / "var" / "models")
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SDSTUDIO_PROGRESS_INTERVAL = 0.0
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # A file, not memory: worker processes must open the same test database.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "var" / "test-sdstudio.sqlite3")}
