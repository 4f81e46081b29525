"""Shop imports: a shop's product file checked and stored, then imported on the shop worker (catalog.formats reads it)."""
from __future__ import annotations

import logging
import time
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext

from catalog import formats
from catalog.models import ShopImport
from catalog.worker import SHOP_QUEUE
from sdstudio.roles import require
from sdstudio.storedfiles import store_with_row

logger = logging.getLogger(__name__)


def shop_import_start(*, data: bytes, name: str = "", user=None):
    """Check a shop's product file (UTF-8, a header catalog.formats knows), store it and queue it for the shop worker;
    ValidationError if unusable."""
    require(user, "catalog.add_product", gettext("Only merchandisers (or admins) can import products."))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(gettext("The file is not UTF-8 text: export it again from Shopify (Products > Export).")) from None
    rows, header, _ = formats.read_rows(text)
    if formats.detect(header) is None:
        raise ValidationError(gettext("This is not a Shopify product CSV: its first line must name Handle and Title columns."))
    with transaction.atomic():
        run = ShopImport(original_name=name[:255], created_by=user, total=len({row.get("Handle") for _, row in rows} - {""}))
        store_with_row(run, [(run.file, f"{uuid.uuid4().hex}.csv", data)])
        transaction.on_commit(lambda: shop_import_enqueue(import_id=run.pk))
    return run


def shop_import_enqueue(*, import_id: int) -> bool:
    """Put the import on the shop queue; Redis being down leaves it queued (the page says so)."""
    import django_rq
    from redis.exceptions import RedisError

    try:
        django_rq.get_queue(SHOP_QUEUE).enqueue("catalog.tasks.run_shop_import", import_id, job_id=f"sdstudio-shop-import-{import_id}",
                                                 job_timeout=3600, result_ttl=0)
    except RedisError as exc:
        logger.warning("Shop import %s stays queued: Redis is unreachable (%s).", import_id, exc)
        return False
    return True


def shop_import_run(*, import_id: int) -> None:
    """On the shop worker: import the file, writing progress as products land, then the report."""
    claimed = ShopImport.objects.filter(pk=import_id, status=ShopImport.Status.QUEUED).update(status=ShopImport.Status.RUNNING)
    if not claimed:
        return
    run = ShopImport.objects.get(pk=import_id)
    last = [0.0]

    def progress(done: int, total: int) -> None:
        if time.monotonic() - last[0] > 0.5 or done == total:
            ShopImport.objects.filter(pk=import_id).update(done=done, total=total)
            last[0] = time.monotonic()

    try:
        with run.file.open("rb") as handle:
            rows, header, unreadable = formats.read_rows(handle.read().decode("utf-8-sig"))
        shop_format = formats.detect(header)
        if shop_format is None:
            raise ValueError("the stored file is in no known shop format")
        report = shop_format.import_rows(rows, user=run.created_by, progress=progress)
        report.errors += unreadable
    except Exception as exc:  # the row says what happened; the products already imported stay
        ShopImport.objects.filter(pk=import_id).update(status=ShopImport.Status.FAILED, error=f"{type(exc).__name__}: {exc}",
                                                       finished_at=timezone.now())
        raise
    ShopImport.objects.filter(pk=import_id).update(status=ShopImport.Status.DONE, report=report.as_dict(), finished_at=timezone.now())
