"""Translation for modules that also run without Django (parameters, modes, the pure runner).

``gettext_noop`` marks a string for the catalogue where it is defined (a label, a help text); ``gettext``
translates it where it is read: into the active language in a Django process, unchanged anywhere else.
makemessages finds both by their names. Importing this module imports no Django.
"""
from __future__ import annotations


def gettext_noop(text: str) -> str:
    return text


def gettext(text: str) -> str:
    """``text`` in the active language where Django is set up (web, workers, commands); as it is elsewhere."""
    try:
        from django.conf import settings
    except ImportError:  # pragma: no cover - Django is a dependency; the runner may still be used alone
        return text
    if not settings.configured:
        return text
    from django.utils.translation import gettext as translate

    return translate(text)
