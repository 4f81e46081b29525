from django.apps import AppConfig


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = "Generation"

    def ready(self):
        from django.conf import settings

        from generation import modes

        # Modes beyond the built-in three: modules that call generation.modes.register (every process imports them).
        modes.load_extra(settings.SDSTUDIO_EXTRA_MODES)
