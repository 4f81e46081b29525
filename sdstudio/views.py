from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from generation.models import Experiment, GenerationJob
from generation.selectors import jobs_for_listing


@login_required
def home(request: HttpRequest) -> HttpResponse:
    counts = dict(GenerationJob.objects.values_list("status").annotate(n=Count("id")))
    return render(
        request,
        "home.html",
        {
            "recent_jobs": jobs_for_listing()[:12],
            "counts": counts,
            "experiments": Experiment.objects.annotate(job_count=Count("jobs"))[:5],
        },
    )
