from django.apps import AppConfig
from django.utils.translation import gettext_lazy


class GenerationConfig(AppConfig):
    name = "generation"
    verbose_name = gettext_lazy("Generation")

    def ready(self):
        from django.conf import settings

        from catalog import published
        from generation import modes, selectors

        # Modes beyond the built-in three: modules that call generation.modes.register (every process imports them).
        modes.load_extra(settings.SDSTUDIO_EXTRA_MODES)
        # What catalog carries to the shop and shows on product pages, through the interface catalog defines.
        published.provide(published_images=selectors.published_images, product_jobs=selectors.product_jobs)
