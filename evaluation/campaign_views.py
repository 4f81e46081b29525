"""Campaign pages: the list, the recipe form, progress with failures and controls, and the product x format grid
where a reviewer approves the image chosen for each cell (generation.campaigns does the work)."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from django.utils.translation import gettext, gettext_lazy

from evaluation.services import decision_record_many
from generation import campaigns, modes
from generation.models import Campaign, Decision, GenerationJob, Status

GRID_PAGE = 25  # products per grid page


class CampaignForm(forms.Form):
    name = forms.CharField(max_length=200, label=gettext_lazy("Name"))
    mode = forms.ChoiceField(choices=modes.choices, initial="scene", widget=forms.RadioSelect, label=gettext_lazy("Mode"))
    prompt_template = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), initial="{name} on a wooden table, soft light",
                                      label=gettext_lazy("Prompt template"),
                                      help_text=gettext_lazy("Product fields: {name}, {vendor}, {type}, {category}, {sku}."))
    negative_prompt = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=gettext_lazy("Negative prompt"))
    category = forms.CharField(required=False, label=gettext_lazy("Category"), help_text=gettext_lazy("Products of this category…"))
    product_type = forms.CharField(required=False, label=gettext_lazy("Product type"),
                                   help_text=gettext_lazy("…of this product type (from the shop import)…"))
    tag = forms.CharField(required=False, label=gettext_lazy("Tag"), help_text=gettext_lazy("…with this tag…"))
    skus = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False, label=gettext_lazy("SKUs"),
                           help_text=gettext_lazy("…or these SKUs (spaces or commas)."))
    formats = forms.MultipleChoiceField(choices=lambda: [(k, f"{gettext(v['label'])} ({v['width']}x{v['height']})")
                                                         for k, v in campaigns.FORMATS.items()],
                                        initial=["square"], widget=forms.CheckboxSelectMultiple, label=gettext_lazy("Formats"))
    seeds_per_item = forms.IntegerField(min_value=1, max_value=campaigns.MAX_SEEDS, initial=2, label=gettext_lazy("Candidates per item"))
    num_inference_steps = forms.IntegerField(min_value=1, max_value=150, initial=30, label=gettext_lazy("Steps"))
    guidance_scale = forms.FloatField(min_value=0, max_value=30, initial=7.5, label=gettext_lazy("Guidance (CFG)"))
    alt_template = forms.CharField(max_length=300, initial="{name}, {format}", label=gettext_lazy("Alt text"),
                                   help_text=gettext_lazy("For the exported images: the product fields and {format}."))

    def selection(self) -> dict:
        data = self.cleaned_data
        chosen = {key: data[key].strip() for key in ("category", "product_type", "tag") if data.get(key, "").strip()}
        if data.get("skus", "").strip():
            chosen["skus"] = data["skus"].replace(",", " ").split()
        return chosen


@login_required
def campaign_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(Campaign.objects.select_related("created_by"), 25).get_page(request.GET.get("page"))
    summaries = campaigns.progress_of(list(page))
    rows = [(c, summaries[c.pk]) for c in page]
    return render(request, "campaigns/campaign_list.html", {"page": page, "rows": rows,
                                                            "can_start": request.user.has_perm("generation.add_generationjob")})


@login_required
def campaign_new(request: HttpRequest) -> HttpResponse:
    if not request.user.has_perm("generation.add_generationjob"):
        raise PermissionDenied(gettext("Only merchandisers (or admins) can start campaigns."))
    form = CampaignForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            campaign = campaigns.campaign_create(
                name=data["name"], mode=data["mode"], prompt_template=data["prompt_template"],
                negative_prompt=data["negative_prompt"], selection=form.selection(), formats=data["formats"],
                parameters={"num_inference_steps": data["num_inference_steps"], "guidance_scale": data["guidance_scale"]},
                seeds_per_item=data["seeds_per_item"], alt_template=data["alt_template"], user=request.user)
        except ValidationError as exc:
            for field, errors in exc.message_dict.items() if hasattr(exc, "error_dict") else [(None, exc.messages)]:
                target = {"prompt_template": "prompt_template", "name": "name", "formats": "formats",
                          "seeds_per_item": "seeds_per_item"}.get(field)
                for error in errors:
                    form.add_error(target, error)
        else:
            messages.success(request, gettext("Campaign “%(name)s”: %(count)s jobs queued behind people's own jobs.")
                                      % {"name": campaign.name, "count": campaign.jobs.count()})
            return redirect(campaign)
    status = 400 if request.method == "POST" else 200
    return render(request, "campaigns/campaign_form.html", {"form": form}, status=status)


@login_required
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = get_object_or_404(Campaign.objects.select_related("created_by"), pk=pk)
    progress = campaigns.progress(campaign)
    failures = (GenerationJob.objects.filter(campaign=campaign, status=Status.FAILED).select_related("product")
                .only("id", "error", "campaign_format", "product__sku", "product__name").order_by("id")[:50])
    can_manage = request.user.is_superuser or (request.user.has_perm("generation.change_generationjob")
                                               and campaign.created_by_id == request.user.pk)
    return render(request, "campaigns/campaign_detail.html", {
        "campaign": campaign, "progress": progress, "failures": failures, "can_manage": can_manage,
        "formats": [{**f, **progress["per_format"].get(f["name"], {})} for f in campaign.formats]})


@login_required
@require_POST
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    campaign = get_object_or_404(Campaign, pk=pk)
    if action not in campaigns.ACTIONS:
        return HttpResponse("Actions: pause, resume, cancel, retry.", status=404, content_type="text/plain; charset=utf-8")
    try:
        campaigns.ACTIONS[action](campaign=campaign, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(campaign)
    messages.success(request, {"pause": gettext("Paused: nothing more starts until you resume."), "resume": gettext("Resumed."),
                               "cancel": gettext("Canceled: every job not finished was stopped."),
                               "retry": gettext("The failed jobs are queued again.")}[action])
    return redirect(campaign)


@login_required
def campaign_grid(request: HttpRequest, pk: int) -> HttpResponse:
    """Products (rows) x formats (columns): each cell's candidates, their decision, and what is still missing."""
    campaign = get_object_or_404(Campaign, pk=pk)
    if request.method == "POST":
        return _grid_decide(request, campaign)
    progress = campaigns.progress(campaign)
    product_ids = (GenerationJob.objects.filter(campaign=campaign).values_list("product_id", flat=True)
                   .distinct().order_by("product_id"))
    page = Paginator(_Counted(product_ids, progress["products"]), GRID_PAGE).get_page(request.GET.get("page"))
    ids = list(page)
    jobs = (GenerationJob.objects.filter(campaign=campaign, product_id__in=ids).order_by("id")
            .values("id", "product_id", "product__sku", "product__name", "campaign_format", "status", "decision",
                    "thumbnail", "seed", *WARNING_FIELDS))
    # A page holds 75 cells and up to 150 candidates: their markup is made here from plain values, every value escaped
    # (the template's loops cost ~0.3 ms a candidate), one URL pattern filled in instead of a reverse() each.
    job_url = reverse("generation:job_detail", args=[0]).removesuffix("0/")
    thumbnails = GenerationJob._meta.get_field("thumbnail").storage
    can_review = request.user.has_perm("evaluation.add_reviewdecision")
    cells: dict[tuple[int, str], list] = {}
    products: dict[int, str] = {}
    for job in jobs:
        products.setdefault(job["product_id"], format_html("{}<br><small>{}</small>", job["product__sku"], job["product__name"]))
        cells.setdefault((job["product_id"], job["campaign_format"]), []).append(
            (job["decision"], _candidate(job, f"{job_url}{job['id']}/", thumbnails, can_review)))
    names = [escape(name) for name in campaign.format_names()]
    rows = []
    for product_id in ids:
        row = [f'<tr><th scope="row">{products.get(product_id, "")}</th>']
        for name in names:
            candidates = cells.get((product_id, name), [])
            state = ("approved" if any(decision == "approved" for decision, _ in candidates) else "") if candidates else "missing"
            row.append(f'<td class="{state}" data-format="{name}">'
                       f'{"".join(html for _, html in candidates) or "<small>no job</small>"}</td>')
        rows.append(mark_safe("".join(row) + "</tr>"))
    return render(request, "campaigns/campaign_grid.html", {
        "campaign": campaign, "rows": rows, "page": page, "formats": campaign.formats, "progress": progress,
        "can_review": can_review})


WARNING_FIELDS = ("mask_unsure", "kept_share", "kept_pieces", "enlargement")


def _candidate(job: dict, url: str, thumbnails, can_review: bool) -> str:
    """One candidate of a grid cell: its thumbnail (and the reviewer's tick box) once it succeeded, else its status."""
    pk, decision, status = job["id"], escape(job["decision"] or ""), escape(job["status"])
    if job["status"] == Status.SUCCEEDED and job["thumbnail"]:
        alt = escape(gettext("Candidate #%(pk)s, seed %(seed)s") % {"pk": pk, "seed": job["seed"]})
        shown = f'<img src="{escape(thumbnails.url(job["thumbnail"]))}" alt="{alt}" width="96" height="96" loading="lazy">'
        if can_review:
            choose = escape(gettext("Choose #%(pk)s") % {"pk": pk})
            shown += f'<input type="checkbox" name="job" value="{pk}" aria-label="{choose}">'
    else:
        shown = f'<span class="status {status}">{escape(str(Status(job["status"]).label).lower())}</span>'
    warned = GenerationJob.warnings_for(**{name: job[name] for name in WARNING_FIELDS})
    warning = f'<small class="warning">{escape(gettext("check what it kept"))}</small>' if warned else ""
    shown_decision = f" · {escape(str(Decision(job['decision']).label).lower())}" if decision else ""
    return (f'<label class="candidate decision-{decision or "none"}">{shown}<a href="{escape(url)}">#{pk}</a>'
            f'{shown_decision}{warning}</label>')


class _Counted:
    """A queryset whose length is already known (the campaign's progress counted its products): the paginator
    slices it without a COUNT of its own."""

    def __init__(self, queryset, count: int):
        self.queryset, self._count = queryset, count

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, index):
        return self.queryset[index]


def _grid_decide(request: HttpRequest, campaign: Campaign) -> HttpResponse:
    if not request.user.has_perm("evaluation.add_reviewdecision"):
        raise PermissionDenied(gettext("Only reviewers can approve outputs for the shop."))
    chosen = [value for value in request.POST.getlist("job") if value.isdigit()]
    jobs = list(GenerationJob.objects.filter(campaign=campaign, pk__in=chosen, status=Status.SUCCEEDED))
    decision = request.POST.get("decision", "approved")
    if decision not in ("approved", "rejected"):
        decision = "approved"
    try:
        decision_record_many(jobs=jobs, user=request.user, decision=decision, reason=request.POST.get("reason", ""),
                             confirmed=request.POST.get("confirm") == "1")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(f"{request.path}?page={request.POST.get('page', 1)}")
    messages.success(request, f"{len(jobs)} image{'s' if len(jobs) != 1 else ''} {decision}.")
    return redirect(f"{request.path}?page={request.POST.get('page', 1)}")
