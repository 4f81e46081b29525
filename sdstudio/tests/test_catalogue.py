"""The French catalogue: complete, compiled from its .po (a fresh clone needs no GNU gettext), and used by the pages."""
import ast
import gettext
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale" / "fr" / "LC_MESSAGES"
DOMAINS = ("django", "djangojs")  # the pages' and the scripts' words
# The command that keeps the catalogue up to date (README, "Languages"): everything SD Studio shows, not its tests.
MAKEMESSAGES = ["makemessages", "-l", "fr", "--no-location", "--ignore=.venv", "--ignore=media", "--ignore=staticfiles",
                "--ignore=var", "--ignore=bench", "--ignore=*/tests/*"]


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


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_of_the_french_catalogue_is_translated_and_none_is_fuzzy(domain):
    entries = read_po(LOCALE / f"{domain}.po")
    assert len(entries) > (700 if domain == "django" else 25)
    fuzzy = [k for k, v in entries.items() if isinstance(v, tuple)]
    empty = [k for k, v in entries.items() if v in ("", {}) or (isinstance(v, dict) and not all(v.values()))]
    assert not fuzzy and not empty, (fuzzy[:5], empty[:5])
    for msgid, msgstr in entries.items():  # the placeholders of a sentence survive its translation
        for source, target in ([(msgid[0], msgstr[0]), (msgid[1], msgstr[1])] if isinstance(msgid, tuple) else [(msgid, msgstr)]):
            assert sorted(set(re.findall(r"%\((\w+)\)s", source))) == sorted(set(re.findall(r"%\((\w+)\)s", target))), source


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_committed_mo_is_the_po_compiled(domain):
    entries = read_po(LOCALE / f"{domain}.po")
    with open(LOCALE / f"{domain}.mo", "rb") as handle:
        compiled = gettext.GNUTranslations(handle)._catalog
    expected = {}
    for msgid, msgstr in entries.items():
        if isinstance(msgid, tuple):
            expected.update({(msgid[0], n): text for n, text in msgstr.items()})
        else:
            expected[msgid] = msgstr
    compiled.pop("", None)
    assert compiled == expected, f"run: msgfmt --check -o locale/fr/LC_MESSAGES/{domain}.mo locale/fr/LC_MESSAGES/{domain}.po"


def test_makemessages_finds_no_message_missing_from_the_catalogue(tmp_path):
    """Run the README's makemessages on a copy of the tracked files: the catalogue it writes holds no msgid the
    committed one lacks (a string marked since, or a sentence changed, fails here until it is translated)."""
    tracked = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    copy = tmp_path / "copy"
    for name in tracked:
        if name and (ROOT / name).is_file() and not name.startswith(("docs/", "bench/", ".ci/")):
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, copy / name)
    for domain in DOMAINS:
        result = subprocess.run([sys.executable, "manage.py", *MAKEMESSAGES, "-d", domain], cwd=copy, capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        committed, fresh = read_po(LOCALE / f"{domain}.po"), read_po(copy / "locale" / "fr" / "LC_MESSAGES" / f"{domain}.po")
        new = sorted(str(k) for k, v in fresh.items() if k not in committed or isinstance(v, tuple))
        assert not new, f"{domain}: not in the committed catalogue (run makemessages, translate, compile): {new[:10]}"


@pytest.mark.django_db
def test_a_french_browser_reads_the_login_page_in_french(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9,en;q=0.5").content.decode()
    assert "Mot de passe oublié ?" in page and "Se connecter" in page  # the catalogue's words, and Django's own
    assert "Forgot your password?" not in page


def test_commands_speak_the_shell_s_language():
    from sdstudio.tests.test_deploy import manage

    french = manage("help", "export_report", LC_ALL="fr_FR.UTF-8")
    assert french.returncode == 0, french.stderr
    assert "Id ou nom exact de l’expérience." in french.stdout and "brief en français" in french.stdout
    english = manage("help", "export_report", LC_ALL="C.UTF-8", LANG="fr_FR.UTF-8")  # LC_ALL wins, as for every program
    assert "Experiment id or exact name." in english.stdout
