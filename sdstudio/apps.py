from django.apps import AppConfig


class SdStudioConfig(AppConfig):
    name = "sdstudio"
    verbose_name = "SD Studio"
