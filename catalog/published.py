"""What catalog carries to the shop of the images made from its products, without importing the app that makes them.

Catalog defines this small interface; the app that owns the images (generation) provides it when it starts
(its AppConfig.ready calls ``provide``). Without a provider there are no images: feeds list products only.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class PublishedImage:
    """An approved image of a product at its public link."""

    product_id: int
    path: str  # the public link's path (/p/<token>.png): stable, answered 410 once it is no longer approved
    made_with: str  # how it was made, in words (the alt text: "product in a new scene")
    alt: str = ""  # the alt text itself, when the image's campaign wrote one (else the format makes it from made_with)


_providers: dict[str, Callable] = {}


def provide(*, published_images: Callable[[], list[PublishedImage]], product_jobs: Callable | None = None) -> None:
    _providers["published_images"] = published_images
    if product_jobs is not None:
        _providers["product_jobs"] = product_jobs


def published_images(*, campaign: int | None = None) -> list[PublishedImage]:
    """Every approved image with a public link, by product SKU then oldest first; ``campaign`` (an id): only that
    campaign's, in the order of its formats."""
    provider = _providers.get("published_images")
    if provider is None:
        return []
    return list(provider(campaign=campaign) if campaign is not None else provider())


def product_jobs(product):
    """What the product page lists of the work made for a product (a queryset of the providing app), or []."""
    provider = _providers.get("product_jobs")
    return provider(product) if provider else []
