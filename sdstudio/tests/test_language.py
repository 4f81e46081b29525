"""The language of the pages: the browser's Accept-Language, or the header's switch stored on the user."""
import pytest
from django.contrib.auth.models import User

from sdstudio.models import UserPreference

pytestmark = pytest.mark.django_db


def test_the_browser_language_sets_the_page_language(client):
    page = client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert page["Content-Language"] == "fr"
    assert '<html lang="fr">' in page.content.decode()
    assert client.get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="de-DE")["Content-Language"] == "en"


def test_the_switch_is_stored_on_the_user_and_comes_back_at_the_next_login(client):
    user = User.objects.create_user("anne", password="pass-for-tests-1")
    client.force_login(user)
    answer = client.post("/accounts/language/", {"language": "fr", "next": "/accounts/password_change/"})
    assert answer.status_code == 302 and answer["Location"] == "/accounts/password_change/"
    assert UserPreference.objects.get(user=user).language == "fr"
    client.logout()
    client.force_login(user)  # a new session, a browser asking for English: the stored choice wins
    assert client.get("/accounts/password_change/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "fr"


def test_an_unknown_language_or_a_foreign_next_is_refused_or_ignored(client):
    answer = client.post("/accounts/language/", {"language": "xx"})
    assert answer.status_code == 400 and "Unknown language" in answer.content.decode()
    answer = client.post("/accounts/language/", {"language": "fr", "next": "https://elsewhere.example/"})
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert client.get("/accounts/language/").status_code == 405
