"""The language of the pages: the browser's (Accept-Language, Django's LocaleMiddleware) unless the user chose one
with the switch in the header; that choice is stored on the user (UserPreference) and follows them to every browser.

The choice is read from the database at login and kept in the session, so a page costs no extra query.
"""
from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

SESSION_KEY = "sdstudio_language"


def stored_language(request: HttpRequest) -> str:
    """The user's chosen language ('' when none), as the login put it in the session (no query per page)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return ""
    return request.session.get(SESSION_KEY, "")


def remember_language_at_login(sender, request, user, **kwargs) -> None:
    """user_logged_in: the stored choice goes into the new session (read once per login, not per page)."""
    from sdstudio.models import UserPreference

    if request is not None and hasattr(request, "session"):
        language = UserPreference.objects.filter(user=user).values_list("language", flat=True).first() or ""
        if language:
            request.session[SESSION_KEY] = language


class UserLanguageMiddleware:
    """After LocaleMiddleware and authentication: a signed-in user's stored choice wins over the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = stored_language(request)
        if language and language in dict(settings.LANGUAGES):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The header's switch: POST language (en, fr) and next; stored on the user, and in a cookie for the login page."""
    language = request.POST.get("language", "")
    if language not in dict(settings.LANGUAGES):
        choices = ", ".join(code for code, _name in settings.LANGUAGES)
        return HttpResponseBadRequest(_("Unknown language “%(language)s”: choose one of %(choices)s.")
                                      % {"language": language[:20], "choices": choices})
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        next_url = reverse("home")
    if request.user.is_authenticated:
        from sdstudio.models import UserPreference

        UserPreference.objects.update_or_create(user=request.user, defaults={"language": language})
        request.session[SESSION_KEY] = language
    response = HttpResponseRedirect(next_url)
    response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                        samesite="Lax", secure=request.is_secure(), httponly=True)
    return response
