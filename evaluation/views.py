from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from evaluation import reports, services
from evaluation.forms import DecisionForm, EvaluationForm
from evaluation.models import RUBRIC_FIELDS
from evaluation.selectors import review_queue
from generation.models import Campaign, Experiment, GenerationJob
from sdstudio.textsafe import parse_id


@login_required
@permission_required("evaluation.add_reviewdecision", raise_exception=True)
def queue(request: HttpRequest) -> HttpResponse:
    from django.utils.http import urlencode

    from evaluation.selectors import QUEUE_FILTERS, average_totals
    from generation import modes

    filters = {name: request.GET.get(name, "").strip() for name in QUEUE_FILTERS}
    page = Paginator(review_queue(filters), 20).get_page(request.GET.get("page"))
    totals = average_totals([job.pk for job in page])
    for job in page:
        job.average_total = totals.get(job.pk)
    active = {k: v for k, v in filters.items() if v}
    return render(request, "evaluation/review_queue.html", {
        "page": page, "filters": filters, "querystring": urlencode(active), "modes": modes.choices(),
        "experiments": Experiment.objects.order_by("-created_at")[:50], "campaigns": Campaign.objects.order_by("-created_at")[:50], "draft_reason": request.session.pop("draft-reason-bulk", ""),
    })


@login_required
@require_POST
@permission_required("evaluation.add_reviewdecision", raise_exception=True)
def decide_many(request: HttpRequest) -> HttpResponse:
    """Approve or reject a selection of the queue with one reason; each job's decision is recorded on its own."""
    back = redirect(f"{reverse('evaluation:queue')}?{request.POST.get('filters', '')}")
    form = DecisionForm(request.POST)
    ids = [pk for pk in map(parse_id, request.POST.getlist("job")) if pk is not None]
    jobs = list(GenerationJob.objects.filter(pk__in=ids).order_by("finished_at", "id"))
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        request.session["draft-reason-bulk"] = request.POST.get("reason", "")
        return back
    try:
        rows = services.decision_record_many(jobs=jobs, user=request.user, decision=form.cleaned_data["decision"],
                                             reason=form.cleaned_data["reason"], confirmed=form.cleaned_data["confirm"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        request.session["draft-reason-bulk"] = request.POST.get("reason", "")
        return back
    messages.success(request, f"{len(rows)} output{'s' if len(rows) != 1 else ''} {form.cleaned_data['decision']}: "
                              + ", ".join(f"#{row.job_id}" for row in rows) + ".")
    return back


def _next_in_queue(after: GenerationJob) -> GenerationJob | None:
    return review_queue().exclude(pk=after.pk).first()


def _back_to(request: HttpRequest, job: GenerationJob) -> HttpResponse:
    """The job page, keeping the queue context when the reviewer came from the queue."""
    return redirect(f"{job.get_absolute_url()}?next=queue" if request.POST.get("next") == "queue" else job.get_absolute_url())


@login_required
@require_POST
@permission_required("evaluation.add_evaluation", raise_exception=True)
def evaluate(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(GenerationJob, pk=pk)
    form = EvaluationForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Score every criterion 0, 1 or 2: " + "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()))
        return _back_to(request, job)
    try:
        evaluation = services.evaluation_submit(
            job=job,
            user=request.user,
            scores={name: form.cleaned_data[name] for name in RUBRIC_FIELDS},
            justification=form.cleaned_data["justification"],
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _back_to(request, job)
    messages.success(request, f"Scored {evaluation.total}/10.")
    return _back_to(request, job)


@login_required
@require_POST
@permission_required("evaluation.add_reviewdecision", raise_exception=True)
def decide(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(GenerationJob, pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(e for errors in form.errors.values() for e in errors))
        request.session[f"draft-reason-{job.pk}"] = request.POST.get("reason", "")  # what was typed is not lost
        return _back_to(request, job)
    try:
        services.decision_record(job=job, user=request.user, decision=form.cleaned_data["decision"], reason=form.cleaned_data["reason"],
                                 confirmed=form.cleaned_data["confirm"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        request.session[f"draft-reason-{job.pk}"] = request.POST.get("reason", "")
        return _back_to(request, job)
    messages.success(request, f"Job #{job.pk} {form.cleaned_data['decision']}.")
    if request.POST.get("next") == "queue":
        following = _next_in_queue(job)
        return redirect(f"{following.get_absolute_url()}?next=queue" if following else "evaluation:queue")
    return redirect(job)


@login_required
def experiment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment.objects.select_related("product"), pk=pk)
    return render(request, "evaluation/experiment_detail.html", {"experiment": experiment, **reports.comparison_with_totals(experiment)})


@login_required
def experiment_report(request: HttpRequest, pk: int) -> HttpResponse:
    experiment = get_object_or_404(Experiment, pk=pk)
    response = HttpResponse(reports.report_zip(experiment), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{reports.report_basename(experiment)}.zip"'
    return response
