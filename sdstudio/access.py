"""A login needs a role: without one (no group, not an administrator) every page says to ask an admin.

Roles are the groups of sdstudio.roles (Merchandisers, Reviewers) and administrators (superusers, or staff
with permissions given by hand). A login made in the admin and never given a role used to read every
product, job, photo, export and report; now it reaches its account pages (log out, change its password) only.
"""
from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy

OPEN_PREFIXES = ("/accounts/", "/admin/", "/django-rq/", "/static/", "/p/", "/jsi18n/")  # sign-in, admin areas (own checks), public images, JS words


def has_role(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    cached = getattr(user, "_sdstudio_has_role", None)
    if cached is None:
        cached = user._sdstudio_has_role = user.groups.exists() or (user.is_staff and user.user_permissions.exists())
    return cached


class RoleRequiredMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # After authentication (sessions here, API tokens in DRF's views): the session's user is known now;
        # a token's user is checked by the API's permission class (api.permissions.HasRole).
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or request.path.startswith(OPEN_PREFIXES) or has_role(user):
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": NO_ROLE}, status=403)
        return render(request, "no_role.html", {"message": NO_ROLE}, status=403)


NO_ROLE = (gettext_lazy("Your login has no role in SD Studio yet. Ask an administrator to add you to Merchandisers or "
                        "Reviewers; until then you can only change your password or log out."))
