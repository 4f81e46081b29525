"""Check (and on Debian/Ubuntu as root, install) what the test suite needs beyond Python packages:
redis-server for the private test Redis, Chromium for the browser tests, exiftool to read outputs' metadata, GNU gettext
for the check that the French catalogue holds every message (makemessages runs xgettext)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

# program -> Debian package. exiftool reads the XMP of outputs independently of the writer (Pillow).
NEEDED = {"redis-server": "redis-server", "chromium": "chromium", "exiftool": "libimage-exiftool-perl", "xgettext": "gettext"}


def missing() -> list[str]:
    return [package for program, package in NEEDED.items() if not shutil.which(program)
            and not (program == "chromium" and os.environ.get("SDSTUDIO_CHROMIUM"))]


def main() -> int:
    todo = missing()
    if not todo:
        return 0
    if shutil.which("apt-get") and os.geteuid() == 0:
        print(f"Installing {' '.join(todo)} with apt-get…", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *todo], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        todo = missing()
    if todo:
        print(
            f"The tests need {' and '.join(todo)}. Install them (Debian/Ubuntu: sudo apt-get install {' '.join(todo)}; "
            "macOS: brew install redis gettext and set SDSTUDIO_CHROMIUM to your Chrome/Chromium binary), then run make test again.",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
