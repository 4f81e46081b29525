from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST
from django.utils.translation import gettext

from generation import experiments
from generation.models import Experiment, GenerationJob


@login_required
def experiment_list(request: HttpRequest) -> HttpResponse:
    items = Experiment.objects.select_related("product").annotate(job_count=Count("jobs"))
    return render(request, "generation/experiment_list.html", {"experiments": items})


@login_required
@require_POST
@permission_required("generation.add_experiment", raise_exception=True)
def sweep_create(request: HttpRequest, job_pk: int) -> HttpResponse:
    """A study like the brief's, for any job: its parameters with one of them swept over the given values."""
    baseline = get_object_or_404(GenerationJob, pk=job_pk)
    values = [v.strip() for v in request.POST.get("values", "").replace(";", ",").split(",") if v.strip()]
    try:
        experiment = experiments.sweep_create(
            baseline=baseline, parameter=request.POST.get("parameter", ""), values=values, user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(baseline)
    messages.success(request, gettext("%(count)s jobs queued for the sweep.") % {"count": experiment.jobs.count()})
    return redirect(experiment)
