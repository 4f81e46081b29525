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

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("user"), on_delete=models.CASCADE,
                             related_name="api_tokens")
    name = models.CharField(gettext_lazy("name"), max_length=100, help_text=gettext_lazy("What uses it, e.g. 'Shopify sync'."))
    key_hash = models.CharField(gettext_lazy("key hash"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(gettext_lazy("prefix"), max_length=12, editable=False,
                              help_text=gettext_lazy("The token's first characters, to recognise it."))
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(gettext_lazy("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(gettext_lazy("revoked at"), null=True, blank=True)

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

    user = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=gettext_lazy("user"), on_delete=models.CASCADE,
                             related_name="+")
    key = models.CharField(gettext_lazy("key"), max_length=255)
    request_hash = models.CharField(gettext_lazy("request hash"), max_length=64)
    job_ids = models.JSONField(gettext_lazy("job ids"), default=list)
    created_at = models.DateTimeField(gettext_lazy("created at"), auto_now_add=True)

    class Meta:
        verbose_name = gettext_lazy("idempotent request")
        verbose_name_plural = gettext_lazy("idempotent requests")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="api_idempotency_key_per_user")]
