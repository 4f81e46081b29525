from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SdStudioConfig(AppConfig):
    name = "sdstudio"
    verbose_name = "SD Studio"

    def ready(self) -> None:
        from sdstudio.roles import ensure_roles

        post_migrate.connect(ensure_roles, sender=self, dispatch_uid="sdstudio-ensure-roles")

        from django.contrib.auth.signals import user_logged_in

        from sdstudio.language import remember_language_at_login

        user_logged_in.connect(remember_language_at_login, dispatch_uid="sdstudio-language-at-login")
