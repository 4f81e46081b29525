"""Serve uploads and outputs to logged-in users, never as something a browser would run."""
from __future__ import annotations

import mimetypes
import posixpath

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext

ALLOWED_TYPES = {"image/png", "image/jpeg", "image/webp", "application/zip", "text/markdown", "text/csv"}


@login_required
def serve_media(request: HttpRequest, path: str) -> FileResponse:
    path = posixpath.normpath(path)
    if path.startswith(("/", "..")) or "/../" in path or not default_storage.exists(path):
        raise Http404(gettext("No such file."))
    content_type = mimetypes.guess_type(path)[0] or "application/octet-stream"
    if content_type not in ALLOWED_TYPES:
        raise Http404(gettext("No such file."))
    response = FileResponse(default_storage.open(path, "rb"), content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{posixpath.basename(path)}"'
    return response


def serve_public_image(request: HttpRequest, token: str) -> HttpResponse:
    """An approved output at its public link, for shops and feeds (no login): the signed PNG, byte for byte.

    The token is the job's unguessable public_token. While the output is not approved (a revoked approval, a
    rejection after review) the link answers 410 Gone, so shops drop it; nothing unapproved is served here.
    """
    from generation.models import GenerationJob

    job = GenerationJob.objects.filter(public_token=token).only("id", "decision", "status", "output", "public_token").first()
    if job is None or not job.output:
        raise Http404(gettext("No such image."))
    if not job.is_public:
        response = HttpResponse(gettext("This image is no longer approved for the shop.\n"), status=410, content_type="text/plain; charset=utf-8")
        response["Cache-Control"] = "public, max-age=60"
        return response
    response = FileResponse(job.output.open("rb"), content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    # Shops cache it; a revocation reaches them within the max-age.
    response["Cache-Control"] = "public, max-age=300"
    response["Access-Control-Allow-Origin"] = "*"
    return response
