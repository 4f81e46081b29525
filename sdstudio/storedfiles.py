"""Files and the rows that name them, written together: a row that fails leaves no file behind.

A database rollback cannot take back a file already written to storage, and Django has no rollback hook.
``store_with_row`` writes the files, then the row in a savepoint, and deletes the files if the row fails.
A row saved inside a larger transaction that fails later (a job form whose upload was stored, then the job
refused) is covered by ``files_removed_if_it_fails()``, wrapped around that larger unit of work: the files
its rows stored are deleted when it raises.
"""
from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from django.core.files.base import ContentFile
from django.db import transaction

_stored: ContextVar[list | None] = ContextVar("sdstudio_stored_files", default=None)


def store_with_row(row, files: list[tuple], *, update_fields: list[str] | None = None) -> None:
    """Save ``files`` ((FieldFile, name, bytes) triples, empty bytes skipped) on ``row``, then the row; all or nothing."""
    written = []
    try:
        with transaction.atomic():
            for field, name, data in files:
                if data:
                    field.save(name, ContentFile(data), save=False)
                    written.append(field)
            row.save(update_fields=update_fields)
    except BaseException:
        for field in written:
            field.delete(save=False)
        raise
    pending = _stored.get()
    if pending is not None:
        pending.extend((field.storage, field.name) for field in written)


@contextmanager
def files_removed_if_it_fails():
    """Around a transaction that stores files through ``store_with_row``: if it raises, those files are deleted too."""
    outer, pending = _stored.get(), []
    token = _stored.set(pending)
    try:
        yield
    except BaseException:
        for storage, name in pending:
            storage.delete(name)
        raise
    else:
        if outer is not None:  # nested: the enclosing unit of work may still fail
            outer.extend(pending)
    finally:
        _stored.reset(token)
