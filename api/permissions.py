"""API permissions: a token acts as its user, and a user without a role reads nothing (as on the pages)."""
from __future__ import annotations

from rest_framework.permissions import BasePermission

from sdstudio.access import NO_ROLE, has_role


class HasRole(BasePermission):
    message = NO_ROLE

    def has_permission(self, request, view) -> bool:
        return has_role(request.user)
