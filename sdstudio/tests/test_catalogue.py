"""The French catalogue: complete, compiled from its .po (a fresh clone needs no GNU gettext), and used by the pages."""
import ast
import gettext
import re
from pathlib import Path

import pytest

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "fr" / "LC_MESSAGES"


def read_po(path: Path) -> dict:
    """msgid (or (msgid, msgid_plural)) -> msgstr (or {n: msgstr}); the header and fuzzy entries are reported as such."""
    entries, entry, key, fuzzy = {}, {}, None, False

    def flush():
        nonlocal entry, fuzzy
        if "msgid" in entry and entry["msgid"]:
            ident = (entry["msgid"], entry["msgid_plural"]) if "msgid_plural" in entry else entry["msgid"]
            value = {int(k[7:-1]): v for k, v in entry.items() if k.startswith("msgstr[")} if "msgid_plural" in entry else entry.get("msgstr", "")
            entries[ident] = ("fuzzy", value) if fuzzy else value
        entry, fuzzy = {}, False

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            flush()
        elif line.startswith("#,") and "fuzzy" in line:
            fuzzy = True
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            entry[key] += ast.literal_eval(line)
        else:
            key, _, text = line.partition(" ")
            entry[key] = ast.literal_eval(text)
    flush()
    return entries


def test_every_message_of_the_french_catalogue_is_translated_and_none_is_fuzzy():
    entries = read_po(LOCALE / "django.po")
    assert len(entries) > 300
    fuzzy = [k for k, v in entries.items() if isinstance(v, tuple)]
    empty = [k for k, v in entries.items() if v in ("", {}) or (isinstance(v, dict) and not all(v.values()))]
    assert not fuzzy and not empty, (fuzzy[:5], empty[:5])
    for msgid, msgstr in entries.items():  # the placeholders of a sentence survive its translation
        for source, target in ([(msgid[0], msgstr[0]), (msgid[1], msgstr[1])] if isinstance(msgid, tuple) else [(msgid, msgstr)]):
            assert sorted(set(re.findall(r"%\((\w+)\)s", source))) == sorted(set(re.findall(r"%\((\w+)\)s", target))), source


def test_the_committed_mo_is_the_po_compiled():
    entries = read_po(LOCALE / "django.po")
    with open(LOCALE / "django.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for msgid, msgstr in entries.items():
        if isinstance(msgid, tuple):
            expected.update({(msgid[0], n): text for n, text in msgstr.items()})
        else:
            expected[msgid] = msgstr
    compiled.pop("", None)
    assert compiled == expected, "run: msgfmt --check -o locale/fr/LC_MESSAGES/django.mo locale/fr/LC_MESSAGES/django.po"


@pytest.mark.django_db
def test_a_french_browser_reads_the_login_page_in_french(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5").content.decode()
    assert "Mot de passe oublié ?" in page and "Se connecter" in page  # the catalogue's words, and Django's own
    assert "Forgot your password?" not in page
