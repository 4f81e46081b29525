from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SdStudioConfig(AppConfig):
    name = "sdstudio"
    verbose_name = "SD Studio"

    def ready(self) -> None:
        from sdstudio.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="sdstudio-ensure-roles")
