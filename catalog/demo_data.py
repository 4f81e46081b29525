"""The demo product that ships with SD Studio (its photo is drawn for the project, CC0)."""
from __future__ import annotations

from pathlib import Path

from catalog.models import Product, ProductPhoto
from catalog.services import DuplicatePhoto, photo_add

DEMO_SKU = "DEMO-HEADPHONES"
DEMO_PHOTO = Path(__file__).resolve().parent / "demo" / "headphones.png"


def demo_product() -> tuple[Product, ProductPhoto]:
    """The demo product and its photo, created once."""
    product, _ = Product.objects.get_or_create(
        sku=DEMO_SKU,
        defaults={
            "name": "Sleek black wireless headphones",
            "category": "Audio",
            "description": "Demo product for SD Studio: the headphones of the brief's study.",
        },
    )
    return product, photo_for(product, DEMO_PHOTO)


def photo_for(product: Product, path: Path) -> ProductPhoto:
    """Add the photo at ``path`` to the product through the safe intake, or return it if already there."""
    try:
        photo, _ = photo_add(product=product, data=path.read_bytes(), name=path.name)
    except DuplicatePhoto as duplicate:
        photo = duplicate.existing
    return photo
