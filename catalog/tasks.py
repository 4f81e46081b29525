"""RQ entry points of the shop queue: take ids and delegate."""
from __future__ import annotations


def run_photo_segmentation(photo_id: int) -> None:
    from catalog.services import photo_segment

    photo_segment(photo_id=photo_id)


def run_shop_import(import_id: int) -> None:
    from catalog.shopimports import shop_import_run

    shop_import_run(import_id=import_id)
