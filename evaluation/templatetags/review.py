"""The review panel on a job page, provided by evaluation (generation's templates load it; generation imports nothing of it)."""
from __future__ import annotations

from django import template

from evaluation.forms import EvaluationForm
from evaluation.selectors import queue_neighbours, review_summary

register = template.Library()


@register.inclusion_tag("evaluation/_review_panel.html", takes_context=True)
def review_panel(context, job):
    request = context["request"]
    user = request.user
    panel = {"job": job, "request": request, "perms": context.get("perms"), "csrf_token": context.get("csrf_token")}
    if job.status != "succeeded":
        return panel
    panel.update(review_summary(job=job, user=user))
    if user.has_perm("evaluation.add_evaluation"):
        mine = panel["my_evaluation"]
        # "Update my scores" starts from my scores and my justification.
        initial = {**mine.scores(), "justification": mine.justification} if mine else None
        panel["evaluation_form"] = EvaluationForm(initial=initial)
    panel["draft_reason"] = request.session.pop(f"draft-reason-{job.pk}", "") if hasattr(request, "session") else ""
    if request.GET.get("next") == "queue":
        panel["queue_previous"], panel["queue_next"] = queue_neighbours(job)
    return panel
