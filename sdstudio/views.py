from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from generation.models import Experiment, GenerationJob, Status
from generation.selectors import jobs_for_listing


@login_required
def home(request: HttpRequest) -> HttpResponse:
    found = dict(GenerationJob.objects.values_list("status").annotate(n=Count("id")))
    counts = [(status, status.label, found[status]) for status in Status if status in found]  # (value, its label, how many)
    return render(
        request,
        "home.html",
        {
            "recent_jobs": jobs_for_listing()[:12],
            "counts": counts,
            "experiments": Experiment.objects.annotate(job_count=Count("jobs"))[:5],
        },
    )


@login_required
def verify(request: HttpRequest) -> HttpResponse:
    """Drop any image and see what its Content Credentials (C2PA) say: valid, invalid (changed or forged) or unsigned."""
    from django.conf import settings
    from django.template.defaultfilters import filesizeformat

    from sdstudio import credentials

    context: dict = {}
    status = 200
    if request.method == "POST":
        upload = request.FILES.get("image")
        if upload is None:
            context["error"], status = _("Choose an image file (PNG, JPEG or WebP) to verify."), 400
        elif upload.size > settings.SDSTUDIO_UPLOAD_MAX_BYTES:
            context["error"], status = _("The file is %(size)s; the limit is %(limit)s.") % {
                "size": filesizeformat(upload.size), "limit": filesizeformat(settings.SDSTUDIO_UPLOAD_MAX_BYTES)}, 400
        else:
            found = credentials.read_image_file(upload.read())
            if found.problems and found.state == "unsigned":  # not an image at all
                context["error"], status = _("This file is not a PNG, JPEG or WebP image."), 400
            else:
                context.update(credentials=found, filename=upload.name[:200])
    return render(request, "verify.html", context, status=status)


def password_reset(request: HttpRequest) -> HttpResponse:
    """Django's password reset when mail can be sent (SMTP, or the console in development); otherwise a page that says
    so, instead of claiming an email was sent."""
    from django.conf import settings
    from django.contrib.auth import views as auth_views

    if not settings.SDSTUDIO_PASSWORD_RESET:
        return render(request, "registration/password_reset_unavailable.html")
    if request.method == "POST" and not _reset_allowed(request):
        return render(request, "429.html", {"message": _("Too many password reset requests from this address or for this email "
                                                         "address; try again in an hour.")}, status=429)
    return auth_views.PasswordResetView.as_view(extra_context={"mail_to_console": settings.SDSTUDIO_MAIL_TO_CONSOLE})(request)


def _reset_allowed(request: HttpRequest) -> bool:
    """Count this request against its address and its email address; False once either is over the hourly limit."""
    from django.conf import settings
    from django.core.cache import cache

    email = (request.POST.get("email") or "").strip().lower()[:254]
    keys = [f"sdstudio:reset:ip:{request.META.get('REMOTE_ADDR', '')}", f"sdstudio:reset:email:{email}"]
    allowed = True
    for key in keys:
        cache.add(key, 0, timeout=3600)
        if cache.incr(key) > settings.SDSTUDIO_PASSWORD_RESET_PER_HOUR:
            allowed = False
    return allowed
