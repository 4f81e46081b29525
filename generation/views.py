from __future__ import annotations

import time
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.utils.translation import gettext

from catalog.models import Product
from catalog.services import DuplicatePhoto, photo_add
from generation import modes
from generation import parameters as P
from generation import services
from generation.forms import BASELINE, JobForm
from generation.models import GenerationJob, Status
from generation.selectors import filter_jobs, jobs_for_listing
from sdstudio.storedfiles import files_removed_if_it_fails
from sdstudio.textsafe import parse_id

PAGE_SIZE = 24


@login_required
def job_list(request: HttpRequest) -> HttpResponse:
    """The gallery across products, filtered by product, mode, status and decision."""
    filters = {key: request.GET.get(key, "") for key in ("product", "mode", "status", "decision")}
    jobs = filter_jobs(jobs_for_listing(), filters)
    page = Paginator(jobs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "generation/generationjob_list.html",
        {
            "page": page,
            "filters": filters,
            "modes": modes.choices(),
            "statuses": Status.choices,
            "querystring": urlencode({k: v for k, v in filters.items() if v}),
        },
    )


@login_required
@permission_required("generation.add_generationjob", raise_exception=True)
def job_create(request: HttpRequest) -> HttpResponse:
    product = Product.objects.filter(sku=request.GET.get("product", "")).first()
    if request.method == "POST":
        form = JobForm(request.POST, request.FILES, product=product)
        if form.is_valid():
            try:
                with files_removed_if_it_fails():  # a job refused after its upload was stored leaves no file behind
                    jobs = _create_jobs(request, form.cleaned_data)
            except ValidationError as exc:
                _attach_errors(form, exc)
            else:
                messages.success(request, f"{len(jobs)} job(s) queued.")
                if len(jobs) == 1:
                    return redirect(jobs[0])
                return redirect(f"{reverse('generation:job_list')}?status=queued")
        return render(request, "generation/generationjob_form.html", {"form": form, "baseline": BASELINE}, status=400)
    initial = {**BASELINE, "seed": None}
    # Links may preselect the mode and the photo (the photo page's "New scene from this photo").
    if request.GET.get("mode") in modes.names():
        initial["mode"] = request.GET["mode"]
    photo_id = parse_id(request.GET.get("source_photo"))
    if product is not None and photo_id is not None:
        initial["source_photo"] = product.photos.filter(pk=photo_id).first()
    form = JobForm(product=product, initial=initial)
    return render(request, "generation/generationjob_form.html", {"form": form, "baseline": BASELINE})


def _attach_errors(form: JobForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error("upload" if isinstance(exc, DuplicatePhoto) else None, exc.messages)


@transaction.atomic
def _create_jobs(request: HttpRequest, data: dict) -> list[GenerationJob]:
    source = data.get("source_photo")
    if modes.get(data["mode"]).uses_photo and data.get("upload"):
        upload = data["upload"]
        upload.seek(0)
        try:
            source, notes = photo_add(product=data["product"], data=upload.read(), name=upload.name, user=request.user)
        except DuplicatePhoto as duplicate:
            source, notes = duplicate.existing, [str(duplicate.messages[0]) + gettext(" The existing photo was used.")]
        except ValidationError as exc:
            raise ValidationError({"upload": exc.messages}) from None
        for note in notes:
            messages.info(request, note)
    seed = data.get("seed")
    if seed is None:
        seed = services.new_seed()
    params = {name: data.get(name) for name in P.NAMES}
    if modes.get(data["mode"]).uses_mask and source is not None and source.mask_unsure:
        messages.warning(request, f"The automatic mask of photo #{source.pk} may have missed the product (confidence "
                                  f"{source.mask_confidence:.2f} of 1): check what the scene kept, or drag a box around the "
                                  "product on the photo's page.")
    jobs = []
    for offset in range(data.get("variants") or 1):
        params["seed"] = (seed + offset) % (P.SEED_MAX + 1)
        jobs.append(services.job_create(**params, product=data.get("product"), source_photo=source, user=request.user,
                                        model_id=data.get("model") or None))
    return jobs


@login_required
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(jobs_for_listing().select_related("rerun_of"), pk=pk)
    context = {"job": job, "environment_diff": environment_diff(job),
               "can_manage": services.can_manage(job=job, user=request.user), "credentials": output_credentials(job),
               # Reviewers get the output and the rubric side by side, the configuration folded away.
               "reviewable": job.status == Status.SUCCEEDED and (request.user.has_perm("evaluation.add_evaluation")
                                                                 or request.user.has_perm("evaluation.add_reviewdecision")),
               # Outputs made from a photo are compared with their source (views: source, difference, outline)
               "has_reference": job.mode_info.uses_photo and bool(job.source_photo_id)
                                and (not job.mode_info.uses_mask or bool(job.mask))}
    # The review panel comes from the evaluation app ({% review_panel %}): generation knows nothing of reviews.
    return render(request, "generation/generationjob_detail.html", context)


def output_credentials(job: GenerationJob):
    """The output's Content Credentials as verified now, from the stored file's bytes (None before there is one)."""
    from sdstudio import credentials

    if not job.output:
        return None
    with job.output.open("rb") as handle:
        return credentials.read(handle.read())


@login_required
def prompt_tokens(request: HttpRequest) -> JsonResponse:
    """The job form's token counter: the prompt's CLIP tokens with the served model's tokenizer (n/75)."""
    from generation import tokencount

    text = request.GET.get("text", "")[: P.PROMPT_MAX]
    mode = request.GET.get("mode", "")
    return JsonResponse(tokencount.count(text, mode=mode if mode in modes.names() else None))


@login_required
def rerun_compare(request: HttpRequest, pk: int) -> HttpResponse:
    """A re-run beside its original, with the amplified difference map, the largest difference and the PSNR."""
    job = get_object_or_404(GenerationJob.objects.select_related("rerun_of"), pk=pk, rerun_of__isnull=False)
    return render(request, "generation/rerun_compare.html", {"job": job, "original": job.rerun_of,
                                                             "environment_diff": environment_diff(job), "gain": DIFF_GAIN})


DIFF_GAIN = 16  # the difference map multiplies |original - re-run| by this, so a difference of 1 grey level shows


REFERENCE_VIEWS = ("source", "difference", "outline")


@login_required
def job_preview(request: HttpRequest) -> HttpResponse:
    """For the job form: what the pipeline will start from, at most PREVIEW_SIZE px on its longer side (img2img's
    photo as ``fit`` puts it on the canvas; a scene's product placed with its shadow). The form's parameters as the
    query (``source_photo`` and the mode's fields); 400 with the sentences for a parameter that is wrong."""
    import io
    from types import SimpleNamespace

    from catalog.models import ProductPhoto
    from catalog.services import photo_mask_image, photo_matte_image
    from sdstudio.images import open_image

    photo_id = request.GET.get("source_photo", "")
    if not photo_id.isdigit():
        return HttpResponse(gettext("Choose a source photo to preview."), status=400, content_type="text/plain; charset=utf-8")
    photo = get_object_or_404(ProductPhoto, pk=int(photo_id))
    mode = modes.get(request.GET.get("mode", "")) if request.GET.get("mode") in modes.names() else None
    if mode is None or not mode.uses_photo:
        return HttpResponse(gettext("Previews are for the modes that start from a photo."), status=400, content_type="text/plain; charset=utf-8")
    wanted = ("width", "height", *mode.parameters)
    values, errors = modes.coerce({"mode": mode.name, **{name: request.GET[name] for name in wanted if name in request.GET}})
    if not errors:
        errors = {name: message for name, message in modes.validate({**values, "prompt": "preview"}, has_source=True).items()
                  if name in wanted}
    if errors:
        return HttpResponse(" ".join(errors.values()), status=400, content_type="text/plain; charset=utf-8")
    scale = min(1.0, PREVIEW_SIZE / max(values["width"], values["height"]))
    spec = SimpleNamespace(**{**values, "width": max(8, round(values["width"] * scale)), "height": max(8, round(values["height"] * scale))})
    mask = photo_mask_image(photo) if mode.uses_mask else None
    if mode.uses_mask and mask is None:
        return HttpResponse(gettext("This photo has no product mask yet: open the photo and draw a box around the product."),
                            status=400, content_type="text/plain; charset=utf-8")
    image = mode.preview(open_image(photo.image), mask, spec, alpha=photo_matte_image(photo) if mode.uses_mask else None)
    if image is None:
        raise Http404(gettext("This mode has no preview."))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    response["X-Photo-Size"] = f"{photo.width}x{photo.height}"
    return response


PREVIEW_SIZE = 320


@login_required
def job_reference(request: HttpRequest, pk: int, view: str) -> HttpResponse:
    """What a reviewer compares the output with, at the output's size: the source as the pipeline saw it, the
    amplified difference to it, or (scenes) the outline of the pixels kept."""
    import io

    import numpy as np
    from PIL import Image

    from generation import scene
    from generation.fidelity import pixel_difference
    from generation.selectors import job_reference as reference_of
    from sdstudio.images import open_image

    job = get_object_or_404(GenerationJob.objects.select_related("source_photo"), pk=pk)
    if view not in REFERENCE_VIEWS:
        raise Http404("Views: source, difference, outline.")
    reference, kept = reference_of(job)
    if reference is None or (view == "outline" and kept is None) or (view == "difference" and not job.output):
        raise Http404(gettext("This job has no such view."))
    if view == "source":
        image = reference
    elif view == "outline":
        image = scene.outline(kept)
    else:
        difference = pixel_difference(open_image(job.output), reference)
        if difference is None:
            raise Http404(gettext("The output and its source differ in size."))
        image = Image.fromarray(np.clip(difference.max(axis=-1) * DIFF_GAIN, 0, 255).astype(np.uint8), "L")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@login_required
def rerun_diff_map(request: HttpRequest, pk: int) -> HttpResponse:
    """|original - re-run| per pixel (largest channel), amplified; black where the pixels are identical."""
    import io

    import numpy as np
    from PIL import Image

    from generation.fidelity import pixel_difference
    from sdstudio.images import open_image

    job = get_object_or_404(GenerationJob.objects.select_related("rerun_of"), pk=pk, rerun_of__isnull=False)
    if not job.output or not job.rerun_of.output:
        raise Http404(gettext("Both outputs are needed for a difference map."))
    difference = pixel_difference(open_image(job.output), open_image(job.rerun_of.output))
    if difference is None:
        raise Http404(gettext("The outputs differ in size."))
    diff = np.clip(difference.max(axis=-1) * DIFF_GAIN, 0, 255).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(diff, "L").save(buffer, format="PNG")
    response = HttpResponse(buffer.getvalue(), content_type="image/png")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def environment_diff(job: GenerationJob) -> list[tuple[str, object, object]]:
    """Fingerprint entries that differ between a re-run and its original (why pixels may drift)."""
    if not job.rerun_of_id or not job.environment:
        return []
    before, after = job.rerun_of.environment or {}, job.environment
    return [(key, before.get(key), after.get(key)) for key in sorted(set(before) | set(after)) if before.get(key) != after.get(key)]


@login_required
def job_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """Polled by the job page: step i of N, elapsed, ETA, and where the output is once done."""
    job = get_object_or_404(GenerationJob, pk=pk)
    return JsonResponse(progress_payload(job))


def progress_payload(job: GenerationJob) -> dict:
    elapsed = eta = None
    online = workers_online(job.model_id) if job.status == Status.QUEUED else None
    if job.started_at:
        end = job.finished_at or timezone.now()
        elapsed = max(0.0, (end - job.started_at).total_seconds())
        if job.status == Status.RUNNING and job.progress_step:
            eta = elapsed / job.progress_step * max(0, job.progress_total - job.progress_step)
    return {
        "id": job.pk,
        "status": job.status,
        "status_label": str(job.get_status_display()).lower(),  # in the request's language
        "step": job.progress_step,
        "total": job.progress_total,
        "fraction": round(job.progress_fraction, 4),
        "elapsed": round(elapsed, 1) if elapsed is not None else None,
        "eta": round(eta, 1) if eta is not None else None,
        "error": job.error if job.status in (Status.FAILED, Status.CANCELED) else "",
        "output_url": job.output.url if job.output else None,
        "finished": job.is_finished,
        "cancel_requested": job.cancel_requested,
        "workers_online": online,
        # Workers of the job's model that are starting: downloading (bytes), loading or warming up.
        "workers_loading": services.workers_loading(job.model_id) if online == 0 else [],
        "model": job.model_id or "",
        "server_time": time.time(),
    }


def workers_online(model_id: str = "") -> int | None:
    """How many workers listen on the queue of the job's model (None when Redis cannot be reached)."""
    from redis.exceptions import RedisError
    from rq import Worker

    try:
        return Worker.count(queue=services.get_queue(model_id))
    except RedisError:
        return None


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(GenerationJob, pk=pk)
    state = services.job_cancel(job=job, user=request.user)  # PermissionDenied -> 403
    messages.info(request, "Job canceled." if state == Status.CANCELED else "Cancel requested: the job stops at its next step.")
    return redirect(job)


@login_required
@require_POST
def job_retry(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(GenerationJob, pk=pk)
    if services.job_retry(job=job, user=request.user):
        messages.success(request, gettext("Queued again with the same parameters and seed."))
    else:
        messages.error(request, "Only a failed job can be retried.")
    return redirect(job)


@login_required
@require_POST
def job_rerun(request: HttpRequest, pk: int) -> HttpResponse:
    return _queue_again(request, pk, services.job_rerun,
                        gettext("Re-run queued as job #%(new)s with the identical parameters and seed %(seed)s."))


def _queue_again(request: HttpRequest, pk: int, service, sentence: str) -> HttpResponse:
    """A service that makes a new job from this one: to the new job's page, or back here with why not."""
    job = get_object_or_404(GenerationJob, pk=pk)
    try:
        new = service(job=job, user=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(job)
    messages.success(request, sentence % {"job": job.pk, "new": new.pk, "seed": new.seed})
    return redirect(new)


@login_required
@require_POST
def job_make_full(request: HttpRequest, pk: int) -> HttpResponse:
    """A draft's "Make the full image": the same job at full speed, same seed."""
    return _queue_again(request, pk, services.job_make_full,
                        gettext("The full image of draft #%(job)s is queued as job #%(new)s (seed %(seed)s)."))


@login_required
def job_download(request: HttpRequest, pk: int) -> FileResponse:
    job = get_object_or_404(GenerationJob, pk=pk)
    if not job.output:
        raise Http404(gettext("This job has no output yet."))
    name = f"sdstudio-job{job.pk}-{job.run_name or job.mode}-seed{job.seed}.png"
    return FileResponse(job.output.open("rb"), as_attachment=True, filename=name, content_type="image/png")
