from __future__ import annotations

from django.utils import timezone
from django.utils.translation import gettext
from rest_framework import authentication, exceptions

from api.models import ApiToken, hash_token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer sds_...`` (or ``Token sds_...``): the token's user, with that user's roles."""

    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1").split()
        if not header or header[0].lower() not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(gettext("Send the token as 'Authorization: Bearer <token>'."))
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(header[1]), revoked_at__isnull=True).first()
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed(gettext("This API token is not valid (revoked, or mistyped)."))
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="SD Studio API"'
