"""The two roles, with the permissions they need (admins are staff/superusers)."""
from django.db import migrations

ROLES = {
    "Merchandisers": [
        "catalog.view_product", "catalog.add_product", "catalog.change_product",
        "catalog.view_productphoto", "catalog.add_productphoto",
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


def create_roles(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("catalog", "0001_initial"),
        ("generation", "0001_initial"),
        ("evaluation", "0001_initial"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
