"""Every page and action against every role: anonymous, merchandiser, reviewer, admin (and plain staff)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from conftest import finished_job, make_user
from generation.models import Experiment, GenerationJob

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "merch", "reviewer", "admin")
OK, REDIRECT, DENIED = 200, 302, 403


@pytest.fixture
def world(product, photo, merchandiser, reviewer, admin_user, redis_server):
    job = finished_job(product=product, created_by=merchandiser)
    bulk = finished_job(product=product, created_by=merchandiser, seed=43)
    queued = GenerationJob.objects.create(prompt="x", seed=1, product=product, created_by=merchandiser)
    failed = GenerationJob.objects.create(prompt="x", seed=2, product=product, created_by=merchandiser,
                                          status="failed", error="out of memory")
    experiment = Experiment.objects.create(name="study", product=product)
    job.experiment = experiment
    job.save(update_fields=["experiment"])
    return {"product": product, "photo": photo, "job": job, "bulk": bulk, "queued": queued, "failed": failed,
            "experiment": experiment, "merch": merchandiser, "reviewer": reviewer, "admin": admin_user}


def _status(pk):
    return lambda: GenerationJob.objects.get(pk=pk).status


def _decision(pk):
    return lambda: GenerationJob.objects.get(pk=pk).decision


def _reruns(pk):
    return lambda: GenerationJob.objects.filter(rerun_of_id=pk).count()


def _evaluations(pk):
    from evaluation.models import Evaluation

    return lambda: Evaluation.objects.filter(job_id=pk).count()


def cases(w):
    sku, job, queued, exp = w["product"].sku, w["job"].pk, w["queued"].pk, w["experiment"].pk
    failed, bulk = w["failed"].pk, w["bulk"].pk
    everyone = {"merch": OK, "reviewer": OK, "admin": OK}
    merch_only = {"merch": OK, "reviewer": DENIED, "admin": OK}
    return [
        ("get", reverse("home"), everyone),
        ("get", reverse("catalog:product_list"), everyone),
        ("get", reverse("catalog:product_detail", args=[sku]), everyone),
        ("get", reverse("catalog:approved_feed"), everyone),
        ("get", reverse("catalog:product_create"), merch_only),
        ("get", reverse("catalog:product_edit", args=[sku]), merch_only),
        ("get", reverse("catalog:photo_upload", args=[sku]), merch_only),
        ("get", reverse("generation:job_list"), everyone),
        ("get", reverse("generation:job_create"), merch_only),
        ("get", reverse("generation:job_detail", args=[job]), everyone),
        ("get", reverse("generation:job_progress", args=[job]), everyone),
        ("get", reverse("generation:job_download", args=[job]), everyone),
        ("post", reverse("generation:job_cancel", args=[queued]), {"merch": REDIRECT, "reviewer": DENIED, "admin": REDIRECT},
         {}, _status(queued)),
        ("post", reverse("generation:job_rerun", args=[job]), {"merch": DENIED, "reviewer": DENIED, "admin": REDIRECT},
         {}, _reruns(job)),
        ("post", reverse("generation:job_retry", args=[failed]), {"merch": REDIRECT, "reviewer": DENIED, "admin": REDIRECT},
         {}, _status(failed)),
        ("get", reverse("experiments:experiment_list"), everyone),
        ("get", reverse("experiments:experiment_detail", args=[exp]), everyone),
        ("get", reverse("experiments:experiment_report", args=[exp]), everyone),
        ("get", reverse("evaluation:queue"), {"merch": DENIED, "reviewer": OK, "admin": OK}),
        ("post", reverse("evaluation:decide_many"), {"merch": DENIED, "reviewer": REDIRECT, "admin": REDIRECT},
         {"decision": "rejected", "reason": "the cable is cut off", "job": [bulk]}, _decision(bulk)),
        ("get", reverse("catalog:shop"), merch_only),
        ("get", reverse("catalog:shopify_export"), everyone),
        ("get", reverse("verify"), everyone),
        ("get", reverse("api:tokens"), everyone),
        ("post", reverse("evaluation:evaluate", args=[job]), {"merch": DENIED, "reviewer": REDIRECT, "admin": REDIRECT},
         {"prompt_adherence": 2, "visual_realism": 1, "artifacts": 2, "ecommerce_usability": 1, "reproducibility": 2},
         _evaluations(job)),
        ("post", reverse("evaluation:decide", args=[job]), {"merch": DENIED, "reviewer": REDIRECT, "admin": REDIRECT},
         {"decision": "approved"}, _decision(job)),
        ("get", reverse("admin:index"), {"merch": REDIRECT, "reviewer": REDIRECT, "admin": OK}),
        ("get", reverse("admin:generation_generationjob_changelist"), {"merch": REDIRECT, "reviewer": REDIRECT, "admin": OK}),
        ("get", reverse("django_rq:home"), {"merch": REDIRECT, "reviewer": REDIRECT, "admin": OK}),
        ("get", w["job"].output.url, everyone),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_permission_matrix(client, world, role):
    if role != "anonymous":
        client.force_login(world[role])
    for method, url, expected, *post in cases(world):
        data, observe = post or ({}, None)
        before = observe() if observe else None
        response = getattr(client, method)(url, data)
        if role == "anonymous":
            assert response.status_code == REDIRECT and "login" in response["Location"], (method, url)
        else:
            assert response.status_code == expected[role], (role, method, url, response.status_code)
        if observe:
            # a POST does what it says for a role allowed to, and changes nothing for any other
            allowed = role != "anonymous" and expected[role] == REDIRECT
            assert (observe() != before) == allowed, (role, url, before, observe())


def test_plain_staff_cannot_reach_the_rq_dashboard(client, db):
    staff = make_user("staffer", None, is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("django_rq:home")).status_code == REDIRECT


def test_merchandiser_cannot_cancel_someone_elses_job(client, world):
    other = make_user("other-merch", "Merchandisers")
    client.force_login(other)
    assert client.post(reverse("generation:job_cancel", args=[world["queued"].pk])).status_code == DENIED


def test_media_is_served_as_an_inert_image(client, world):
    client.force_login(world["reviewer"])
    response = client.get(world["job"].output.url)
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    download = client.get(reverse("generation:job_download", args=[world["job"].pk]))
    assert download["Content-Disposition"].startswith("attachment;")


def test_media_path_traversal_is_a_404(client, world):
    client.force_login(world["reviewer"])
    assert client.get("/media/../sdstudio/settings.py").status_code == 404
    assert client.get("/media/outputs/%2e%2e/%2e%2e/manage.py").status_code == 404


@pytest.mark.parametrize("action", ["approve", "reject", "rerun", "cancel"])
def test_admin_actions_follow_permissions_not_staff_status(client, world, action):
    # given a staff account that is only a merchandiser
    url = reverse("admin:generation_generationjob_changelist")
    client.force_login(make_user(f"staff-{action}", "Merchandisers", is_staff=True))
    target = world["queued"] if action == "cancel" else world["job"]
    # when it tries the admin action
    client.post(url, {"action": action, "_selected_action": [target.pk]})
    target.refresh_from_db()
    # then deciding and re-running are refused, and so is cancelling a job someone else started
    # (as on the job page: staff status gives no right over another's job)
    assert target.decision == ""
    assert not GenerationJob.objects.filter(rerun_of=target).exists()
    if action == "cancel":
        assert target.status == "queued"


@pytest.mark.parametrize("action", ["approve", "rerun"])
def test_admin_actions_work_for_an_admin(client, world, django_capture_on_commit_callbacks, action):
    client.force_login(world["admin"])
    with django_capture_on_commit_callbacks():
        client.post(reverse("admin:generation_generationjob_changelist"), {"action": action, "_selected_action": [world["job"].pk]})
    world["job"].refresh_from_db()
    if action == "approve":
        assert world["job"].decision == "approved"
    else:
        rerun = GenerationJob.objects.get(rerun_of=world["job"])
        assert rerun.seed == world["job"].seed and rerun.parameters() == world["job"].parameters()
