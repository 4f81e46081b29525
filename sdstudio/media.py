"""Serve uploads and outputs to logged-in users, never as something a browser would run."""
from __future__ import annotations

import mimetypes
import posixpath

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest

ALLOWED_TYPES = {"image/png", "image/jpeg", "image/webp", "application/zip", "text/markdown", "text/csv"}


@login_required
def serve_media(request: HttpRequest, path: str) -> FileResponse:
    path = posixpath.normpath(path)
    if path.startswith(("/", "..")) or "/../" in path or not default_storage.exists(path):
        raise Http404("No such file.")
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if content_type not in ALLOWED_TYPES:
        raise Http404("No such file.")
    response = FileResponse(default_storage.open(path, "rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{posixpath.basename(path)}"'
    return response
