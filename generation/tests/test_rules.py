"""Where the rules live: one parameter definition, one permission rule per action, a web process without torch."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command
from django.urls import reverse

from conftest import ROOT, finished_job, make_user
from generation import parameters as P
from generation import modes
from generation.models import GenerationJob, Scheduler, Status

# --- one definition of the job parameters -------------------------------------------------------


def test_model_fields_defaults_and_constraints_follow_the_parameters():
    fields = {f.name: f for f in GenerationJob._meta.fields}
    for p in P.PARAMETERS:
        assert p.name in fields, p.name
        if p.default is not None and not p.per_mode and p.type is not str:
            assert fields[p.name].default == p.default, p.name
    assert [value for value, _ in fields["mode"].choices] == list(modes.names()) and list(Scheduler.values) == list(P.SCHEDULERS)
    # the database refuses what the parameters refuse (limits as the check constraints hold them)
    constraints = {c.name: str(c.condition) for c in GenerationJob._meta.constraints}
    assert "('num_inference_steps__lte', 150)" in constraints["job_steps_range"]
    assert "('guidance_scale__lte', 30)" in constraints["job_guidance_range"]
    assert "('width__gte', 64)" in constraints["job_size_range"] and "('height__lte', 2048)" in constraints["job_size_range"]
    assert "('seed__lte', 4294967295)" in constraints["job_seed_range"]


def test_form_fields_follow_the_parameters():
    from generation.forms import JobForm

    form = JobForm()
    for p in P.PARAMETERS:
        field = form.fields[p.name]
        assert field.label == p.label
        if p.type in (int, float):
            assert (field.min_value, field.max_value) == (p.minimum, p.maximum), p.name
        if p.choices:
            assert [value for value, _ in field.choices] == list(p.choices)


def test_admin_cli_png_and_spec_follow_the_parameters():
    from django.contrib import admin

    from generation import pngmeta
    from generation.inference.runner import JobSpec
    from generation.management.commands.generate import Command

    job_admin = admin.site._registry[GenerationJob]
    parameter_fieldset = job_admin.fieldsets[0][1]["fields"]
    assert parameter_fieldset == [*P.NAMES, "model_id"] and set(P.NAMES) <= set(job_admin.readonly_fields)
    parser = Command().create_parser("manage.py", "generate")
    dests = {action.dest for action in parser._actions}
    assert set(P.NAMES) <= dests
    assert [f for f in JobSpec.__dataclass_fields__] == [*P.NAMES, "source_image", "mask_image"]
    text = pngmeta.parameters_text({**modes.defaults("img2img"), "prompt": "a mug", "seed": 7, "model": "m"})
    # AUTOMATIC1111's spelling of each setting, written by hand here (not the code's table)
    assert text == "a mug\nSteps: 30, Sampler: Euler a, CFG scale: 7.5, Seed: 7, Size: 512x512, Model: m, Denoising strength: 0.6"


def test_services_validation_and_batching_use_the_parameters(db):
    from django.core.exceptions import ValidationError

    from generation import services

    with pytest.raises(ValidationError) as caught:
        services.validate_parameters({"prompt": "x", "num_inference_steps": 151})
    assert caught.value.message_dict["num_inference_steps"] == ["Steps must be between 1 and 150 (the brief uses 15, 30 and 50)."]
    with pytest.raises(TypeError):
        services.validate_parameters({"prompt": "x", "steps": 3})
    assert P.BATCH_KEYS == ("mode", "num_inference_steps", "guidance_scale", "scheduler", "width", "height", "strength",
                            "speed", "controlnet_conditioning_scale")


# --- the web process never imports torch ----------------------------------------------------------

WEB_MODULES = [
    "sdstudio.urls", "sdstudio.views", "sdstudio.context_processors", "sdstudio.media",
    "catalog.urls", "catalog.views", "catalog.admin", "catalog.forms", "catalog.services",
    "generation.urls", "generation.views", "generation.experiment_views", "generation.admin", "generation.forms",
    "generation.services", "generation.selectors", "generation.experiments", "generation.parameters", "generation.tasks",
    "evaluation.urls", "evaluation.experiment_urls", "evaluation.views", "evaluation.admin", "evaluation.forms",
    "evaluation.services", "evaluation.selectors", "evaluation.reports", "evaluation.templatetags.review",
]


def test_web_modules_do_not_import_torch_diffusers_or_transformers():
    # given a fresh interpreter with Django set up, when every web-facing module is imported and the pages' URLconf resolved
    code = (
        "import django, importlib, json, sys; django.setup(); "
        f"[importlib.import_module(m) for m in {WEB_MODULES!r}]; "
        "from django.urls import reverse; reverse('home'); "
        "print(json.dumps(sorted(m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={**__import__("os").environ, "DJANGO_SETTINGS_MODULE": "sdstudio.settings"})
    assert out.returncode == 0, out.stderr
    # then none of the heavy libraries was loaded
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


# The import rules (one-way apps, no cycle, an inference package without Django): sdstudio/tests/test_layers.py.


# --- one rule per action, the same on the page, in the admin and on the command line -------------

ACTORS = ("owner", "other_staff_merch", "reviewer", "superuser")


@pytest.fixture
def actors(db):
    owner = make_user("owner", "Merchandisers")
    return {
        "owner": owner,
        "other_staff_merch": make_user("other", "Merchandisers", is_staff=True),
        "reviewer": make_user("rev", "Reviewers", is_staff=True),
        "superuser": make_user("root", None, is_staff=True, is_superuser=True),
    }


def _queued(owner):
    return GenerationJob.objects.create(prompt="x", seed=1, created_by=owner)


def _failed(owner):
    return GenerationJob.objects.create(prompt="x", seed=1, created_by=owner, status=Status.FAILED, error="boom")


@pytest.mark.parametrize("actor", ACTORS)
@pytest.mark.parametrize("action, make, done", [
    ("cancel", _queued, lambda job: job.status == Status.CANCELED),
    ("retry", _failed, lambda job: job.status == Status.QUEUED),
])
def test_cancel_and_retry_agree_on_page_and_admin(client, actors, redis_server, actor, action, make, done):
    expected = actor in ("owner", "superuser")
    user = actors[actor]
    client.force_login(user)
    # the page
    job = make(actors["owner"])
    response = client.post(reverse(f"generation:job_{action}", args=[job.pk]))
    job.refresh_from_db()
    page = done(job)
    assert response.status_code == (302 if expected else 403)
    # the admin action (only staff reach the admin at all)
    job = make(actors["owner"])
    if user.is_staff:
        client.post(reverse("admin:generation_generationjob_changelist"), {"action": action, "_selected_action": [job.pk]})
    job.refresh_from_db()
    admin_done = done(job)
    assert page == expected and admin_done == (expected and user.is_staff)


@pytest.mark.parametrize("actor", ACTORS)
def test_rerun_agrees_on_page_admin_and_command(client, actors, redis_server, actor):
    expected = actor == "superuser"
    user = actors[actor]
    client.force_login(user)
    original = finished_job(created_by=actors["owner"])
    results = {}
    client.post(reverse("generation:job_rerun", args=[original.pk]))
    results["page"] = GenerationJob.objects.filter(rerun_of=original).count()
    if user.is_staff:
        client.post(reverse("admin:generation_generationjob_changelist"), {"action": "rerun", "_selected_action": [original.pk]})
    results["admin"] = GenerationJob.objects.filter(rerun_of=original).count() - results["page"]
    try:
        call_command("rerun", str(original.pk), "--as", user.username, stdout=open("/dev/null", "w"))
        results["command"] = 1
    except CommandError:
        results["command"] = 0
    assert results == {"page": int(expected), "admin": int(expected and user.is_staff), "command": int(expected)}


def test_only_a_succeeded_job_reruns_whoever_asks(db, actors, redis_server):
    from django.core.exceptions import ValidationError

    from generation import services

    queued = _queued(actors["owner"])
    with pytest.raises(ValidationError, match="only a job that succeeded"):
        services.job_rerun(job=queued, user=actors["superuser"])
    with pytest.raises(CommandError, match="only a job that succeeded"):
        call_command("rerun", str(queued.pk))


def test_an_admin_edit_of_an_evaluation_is_recorded_as_the_admin(client, actors):
    from evaluation.models import Evaluation
    from evaluation.services import evaluation_submit

    job = finished_job()
    reviewer = actors["reviewer"]
    scores = {name: 1 for name in ("prompt_adherence", "visual_realism", "artifacts", "ecommerce_usability", "reproducibility")}
    evaluation = evaluation_submit(job=job, user=reviewer, scores=scores)
    client.force_login(actors["superuser"])
    data = {**scores, "prompt_adherence": 2, "justification": "corrected", "revisions-TOTAL_FORMS": 1,
            "revisions-INITIAL_FORMS": 1, "revisions-MIN_NUM_FORMS": 0, "revisions-MAX_NUM_FORMS": 1000,
            "revisions-0-id": evaluation.revisions.get().pk, "revisions-0-evaluation": evaluation.pk}
    response = client.post(reverse("admin:evaluation_evaluation_change", args=[evaluation.pk]), data)
    assert response.status_code == 302, response.content[:2000]
    evaluation = Evaluation.objects.get(pk=evaluation.pk)
    assert evaluation.reviewer == reviewer and evaluation.total == 6
    assert [(r.total, r.created_by.username) for r in evaluation.revisions.order_by("id")] == [(5, "rev"), (6, "root")]


def test_reviewer_cannot_submit_someone_elses_evaluation(db, actors):
    from django.core.exceptions import PermissionDenied

    from evaluation.services import evaluation_submit

    other, plain = make_user("rev2", "Reviewers"), make_user("rev3", "Reviewers")
    scores = {name: 1 for name in ("prompt_adherence", "visual_realism", "artifacts", "ecommerce_usability", "reproducibility")}
    with pytest.raises(PermissionDenied):
        evaluation_submit(job=finished_job(), reviewer=other, scores=scores, user=plain)
    assert Group.objects.filter(name="Reviewers").exists()


def test_job_creation_checks_the_role_inside_the_service_the_command_line_included(db, actors, redis_server):
    from django.core.exceptions import PermissionDenied

    from generation import services

    reviewer = actors["reviewer"]
    # a reviewer is refused by the service itself, however it is reached
    with pytest.raises(PermissionDenied, match="Only merchandisers"):
        services.job_create(prompt="a red mug", user=reviewer)
    with pytest.raises(CommandError, match="Only merchandisers"):
        call_command("generate", prompt="a red mug", as_user=reviewer.username, width=64, height=64)
    assert not GenerationJob.objects.exists()
    # the command acting as a merchandiser makes the job as theirs; the operator's own command line needs no login
    call_command("generate", prompt="a red mug", as_user=actors["owner"].username, width=64, height=64)
    call_command("generate", prompt="a blue mug", width=64, height=64)
    owners = dict(GenerationJob.objects.values_list("prompt", "created_by__username"))
    assert owners == {"a red mug": actors["owner"].username, "a blue mug": None}
