#!/usr/bin/env python
"""Django's command-line utility for SD Studio."""
import os
import sys


def shell_language() -> str | None:
    """The language of the shell (LC_ALL, LC_MESSAGES, LANG: "fr_FR.UTF-8" -> "fr"), for the commands' sentences."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):  # the first one set decides, as for every program
        value = os.environ.get(name, "")
        if value:
            return None if value in ("C", "POSIX") or value.startswith("C.") else value.split(".")[0].split("_")[0].lower()
    return None


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sdstudio.settings")
    import django
    from django.conf import settings
    from django.core.management import execute_from_command_line
    from django.utils import translation

    try:
        django.setup()
        language = shell_language()
        if language in dict(settings.LANGUAGES):  # commands speak the shell's language; pages choose their own per request
            translation.activate(language)
    except Exception:  # noqa: BLE001 - a settings problem is reported by the command line itself, just below
        pass
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
