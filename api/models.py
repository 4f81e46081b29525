"""Per-user API tokens (stored hashed) and the Idempotency-Key record of job creations."""
from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

TOKEN_PREFIX = "sds_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the REST API, acting as its user (same roles); only its hash is kept."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens", verbose_name=gettext_lazy("user"))
    name = models.CharField(max_length=100, help_text="What uses it, e.g. 'Shopify sync'.", verbose_name=gettext_lazy("name"))
    key_hash = models.CharField(max_length=64, unique=True, editable=False, verbose_name=gettext_lazy("key hash"))
    prefix = models.CharField(max_length=12, editable=False, help_text="The token's first characters, to recognise it.", verbose_name=gettext_lazy("prefix"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("last used at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=gettext_lazy("revoked at"))

    class Meta:
        verbose_name = gettext_lazy("API token")
        verbose_name_plural = gettext_lazy("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…, {self.user})"

    @classmethod
    def issue(cls, *, user, name: str) -> tuple["ApiToken", str]:
        """A new token: the row, and the raw value (shown once, never stored)."""
        raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
        return cls.objects.create(user=user, name=name.strip()[:100] or "API token", key_hash=hash_token(raw), prefix=raw[:12]), raw


class IdempotentRequest(models.Model):
    """A job creation made with an Idempotency-Key: a retry with the same key and body gets the same jobs back."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=gettext_lazy("user"))
    key = models.CharField(max_length=255, verbose_name=gettext_lazy("key"))
    request_hash = models.CharField(max_length=64, verbose_name=gettext_lazy("request hash"))
    job_ids = models.JSONField(default=list, verbose_name=gettext_lazy("job ids"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=gettext_lazy("created at"))

    class Meta:
        verbose_name = gettext_lazy("idempotent request")
        verbose_name_plural = gettext_lazy("idempotent requests")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_key_per_user")]
