"""The two roles and their permissions (admins are staff/superusers).

Ensured after every migrate (and every test-database flush) by a post_migrate
handler, so the groups always exist with exactly these permissions.
"""
from __future__ import annotations

ROLES = {
    "Merchandisers": [
        "catalog.view_product", "catalog.add_product", "catalog.change_product",
        "catalog.view_productphoto", "catalog.add_productphoto", "catalog.change_productphoto",
        "generation.view_generationjob", "generation.add_generationjob", "generation.change_generationjob",
        "generation.view_experiment", "generation.add_experiment",
        "evaluation.view_evaluation", "evaluation.view_reviewdecision",
    ],
    "Reviewers": [
        "catalog.view_product", "catalog.view_productphoto",
        "generation.view_generationjob", "generation.view_experiment",
        "evaluation.view_evaluation", "evaluation.add_evaluation", "evaluation.change_evaluation",
        "evaluation.view_reviewdecision", "evaluation.add_reviewdecision",
    ],
}


def require(user, perm: str, sentence: str) -> None:
    """Inside every service that acts for someone: ``user`` (the one name of the acting user in every service) holds
    ``perm``, or PermissionDenied with ``sentence`` (who may do it).

    ``user`` None is the command line: an operator with a shell on the machine, who holds the database already.
    Pages and the API always pass the logged-in user (an anonymous one holds nothing).
    """
    from django.core.exceptions import PermissionDenied

    if user is not None and not user.has_perm(perm):
        raise PermissionDenied(sentence)


def ensure_roles(**kwargs) -> None:
    from django.apps import apps
    from django.contrib.auth.management import create_permissions
    from django.contrib.auth.models import Group, Permission

    for label in ("catalog", "generation", "evaluation"):
        create_permissions(apps.get_app_config(label), verbosity=0, using=kwargs.get("using", "default"))
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = [
            Permission.objects.get(content_type__app_label=dotted.split(".")[0], codename=dotted.split(".")[1])
            for dotted in codenames
        ]
        group.permissions.set(wanted)
