"""Job services: validation with messages a person can act on, state transitions guarded, files never orphaned."""
from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import DatabaseError

from generation import services
from generation.models import GenerationJob, Status
from generation.tests.factories import queue_job

pytestmark = pytest.mark.django_db


def errors_of(**params) -> dict[str, list[str]]:
    base = dict(prompt="headphones", num_inference_steps=30, guidance_scale=7.5, scheduler="euler_a", width=512, height=512)
    base.update(params)
    with pytest.raises(ValidationError) as info:
        services.job_create(**base)
    return info.value.message_dict


@pytest.mark.parametrize(
    "params, field, fragment",
    [
        ({"prompt": "  "}, "prompt", "Write a prompt"),
        ({"num_inference_steps": 0}, "num_inference_steps", "between 1 and 150"),
        ({"num_inference_steps": 151}, "num_inference_steps", "between 1 and 150"),
        ({"guidance_scale": -1}, "guidance_scale", "between 0 and 30"),
        ({"width": 500}, "width", "multiple of 8"),
        ({"height": 4096}, "height", "between 64 and 2048"),
        ({"scheduler": "karras"}, "scheduler", "one of euler_a, ddim"),
        ({"seed": 2**32}, "seed", "between 0 and 4294967295"),
        ({"mode": "img2img", "strength": 0.5}, "source_photo", "needs a source photo"),
        ({"strength": 0.5}, "strength", "image to image only"),
    ],
)
def test_invalid_parameters_name_the_field_and_the_fix(params, field, fragment):
    assert any(fragment in message for message in errors_of(**params)[field])
    assert not GenerationJob.objects.exists()


def test_img2img_strength_bounds_and_at_least_one_step(photo):
    assert "above 0 and at most 1" in errors_of(mode="img2img", source_photo=photo, strength=0)["strength"][0]
    assert "above 0 and at most 1" in errors_of(mode="img2img", source_photo=photo, strength=1.2)["strength"][0]
    assert "fewer than one denoising step" in errors_of(mode="img2img", source_photo=photo, strength=0.2, num_inference_steps=4)["strength"][0]


def test_blank_seed_is_drawn_once_and_stored(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks():
        job = services.job_create(prompt="headphones")
    assert 0 <= job.seed <= 2**32 - 1
    job.refresh_from_db()
    assert job.status == Status.QUEUED and job.model_id == ""


def test_enqueue_happens_after_commit_only(django_capture_on_commit_callbacks, monkeypatch):
    calls = []
    monkeypatch.setattr(services, "job_enqueue", lambda job_id: calls.append(job_id))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        job = services.job_create(prompt="headphones")
    assert calls == [] and len(callbacks) == 1
    callbacks[0]()
    assert calls == [job.pk]


def test_claim_is_once_only():
    job = queue_job()
    assert services.job_claim(job_id=job.pk, worker_name="w1") is not None
    assert services.job_claim(job_id=job.pk, worker_name="w2") is None
    job.refresh_from_db()
    assert job.status == Status.RUNNING and job.attempts == 1 and job.worker_name == "w1"


def outcome(png=b"\x89PNG fake") -> services.JobOutcome:
    return services.JobOutcome(
        png=png, thumbnail_png=png, pixels_sha256="0" * 64, environment={"device": "cpu"}, load_seconds=0.0,
        inference_seconds=1.0, seconds_per_step=0.5, steps_run=2, extra_fields={},
    )


def files_under(folder: str) -> list[str]:
    if not default_storage.exists(folder):
        return []
    dirs, files = default_storage.listdir(folder)
    return files + [f for d in dirs for f in files_under(f"{folder}/{d}")]


def test_failure_while_saving_leaves_no_succeeded_row_and_no_orphan_file(monkeypatch):
    # given a running job
    job = services.job_claim(job_id=queue_job().pk, worker_name="w")
    before = files_under("outputs") + files_under("thumbs")

    # when the database write fails after the file was written
    def broken_update(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr("django.db.models.query.QuerySet.update", broken_update)
    with pytest.raises(DatabaseError):
        services.job_succeed(job=job, outcome=outcome())
    monkeypatch.undo()
    # then the row is not succeeded and the files are gone
    job.refresh_from_db()
    assert job.status == Status.RUNNING and not job.output
    assert files_under("outputs") + files_under("thumbs") == before


def test_output_for_a_job_canceled_meanwhile_is_discarded():
    job = services.job_claim(job_id=queue_job().pk, worker_name="w")
    before = files_under("outputs")
    services.job_mark_canceled(job_id=job.pk)
    assert services.job_succeed(job=job, outcome=outcome()) is False
    job.refresh_from_db()
    assert job.status == Status.CANCELED and files_under("outputs") == before


def test_cancel_queued_is_immediate_and_running_is_flagged():
    queued = queue_job()
    assert services.job_cancel(job=queued, user=None) == Status.CANCELED
    running = queue_job()
    services.job_claim(job_id=running.pk, worker_name="w")
    assert services.job_cancel(job=running, user=None) == Status.RUNNING
    assert services.job_report_progress(job_id=running.pk, step=1, total=2) is True


def test_retryable_failure_requeues_until_attempts_are_spent(settings, django_capture_on_commit_callbacks):
    settings.SDSTUDIO_MAX_ATTEMPTS = 2
    job = queue_job()
    for expected in (Status.QUEUED, Status.FAILED):
        services.job_claim(job_id=job.pk, worker_name="w")
        with django_capture_on_commit_callbacks():
            assert services.job_fail(job_id=job.pk, error="CUDA out of memory", retryable=True) == expected
    job.refresh_from_db()
    assert job.status == Status.FAILED and job.attempts == 2 and job.error == "CUDA out of memory"


def test_succeeded_needs_an_output_in_the_database_itself():
    from django.db import IntegrityError, transaction

    job = queue_job()
    with pytest.raises(IntegrityError), transaction.atomic():
        GenerationJob.objects.filter(pk=job.pk).update(status=Status.SUCCEEDED)
