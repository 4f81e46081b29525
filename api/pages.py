"""The API tokens page: a user makes and revokes their own tokens (shown once, stored hashed)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext

from api.models import ApiToken


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    new_token = None
    if request.method == "POST":
        if request.POST.get("action") == "revoke":
            revoked = ApiToken.objects.filter(pk=request.POST.get("token_id") or 0, user=request.user, revoked_at__isnull=True)
            if revoked.update(revoked_at=timezone.now()):
                messages.success(request, gettext("Token revoked: it stops working at once."))
            return redirect("api:tokens")
        _, new_token = ApiToken.issue(user=request.user, name=request.POST.get("name", ""))
    mine = ApiToken.objects.filter(user=request.user)
    return render(request, "api/tokens.html", {"tokens": mine, "new_token": new_token})
