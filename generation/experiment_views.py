from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from generation import experiments
from generation.models import Experiment


@login_required
def experiment_list(request: HttpRequest) -> HttpResponse:
    items = Experiment.objects.select_related("product").annotate(job_count=Count("jobs"))
    return render(request, "generation/experiment_list.html", {"experiments": items})


@login_required
def experiment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment.objects.select_related("product"), pk=pk)
    return render(request, "generation/experiment_detail.html", {"experiment": experiment, **experiments.comparison(experiment)})


@login_required
def experiment_report(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    data = experiments.report_zip(experiment)
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{experiments.report_basename(experiment)}.zip"'
    return response
