"""Defects users met, each reproduced as it was found: inputs that broke pages, exports that were unsafe, loose access."""
from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from catalog.models import Product
from conftest import finished_job, make_user
from generation.models import Experiment, GenerationJob

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("sku", ["A/B", "new", "..", "=1+2", "x" * 65, "a b"])
def test_unusable_skus_are_refused_by_the_form_with_a_sentence(client, merchandiser, sku):
    client.force_login(merchandiser)
    response = client.post(reverse("catalog:product_create"), {"sku": sku, "name": "Thing"})
    assert response.status_code == 400
    assert not Product.objects.filter(sku=sku).exists()
    assert "SKU" in response.content.decode() and ("not usable" in response.content.decode() or "reserved" in response.content.decode()
                                                   or "at most 64" in response.content.decode())


def test_csv_import_refuses_bad_skus_long_fields_and_photos_outside_its_folder(tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(b"not even an image")
    folder = tmp_path / "shop"
    folder.mkdir()
    (folder / "catalog.csv").write_text(
        "sku,name,category,photo\n"
        "A/B,Slash,,\n"
        "new,Reserved,,\n"
        f"LONG-1,{'n' * 300},,\n"
        f"ABS-1,Absolute,,{outside}\n"
        "UP-1,Up and out,,../secret.png\n"
        "OK-1,Fine,Audio,\n"
    )
    with pytest.raises(CommandError, match="5 row"):
        call_command("import_catalog", str(folder / "catalog.csv"), stdout=io.StringIO(), stderr=(err := io.StringIO()))
    log = err.getvalue()
    assert "line 2: SKU “A/B” is not usable" in log and "line 3: SKU “new” is reserved" in log
    assert "line 4:" in log and "at most 200 characters" in log
    assert "line 5:" in log and "outside the CSV's folder" in log and "line 6:" in log
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-1"]


def test_csv_import_reads_latin1_when_told_utf16_by_its_bom_and_says_what_to_do_otherwise(tmp_path):
    text = "sku,name\nCAFE-1,Café crème\n"
    (tmp_path / "latin1.csv").write_bytes(text.encode("latin-1"))
    (tmp_path / "utf16.csv").write_bytes(text.replace("CAFE-1", "CAFE-2").encode("utf-16"))
    with pytest.raises(CommandError, match="not valid utf-8-sig .*--encoding cp1252"):
        call_command("import_catalog", str(tmp_path / "latin1.csv"), stdout=io.StringIO())
    call_command("import_catalog", str(tmp_path / "latin1.csv"), "--encoding", "latin-1", stdout=io.StringIO())
    call_command("import_catalog", str(tmp_path / "utf16.csv"), stdout=io.StringIO())
    assert dict(Product.objects.values_list("sku", "name")) == {"CAFE-1": "Café crème", "CAFE-2": "Café crème"}


def test_csv_import_with_a_huge_field_rejects_that_row_and_keeps_the_others(tmp_path):
    (tmp_path / "big.csv").write_text("sku,name,description\nBIG-1,Big," + "d" * 1_200_000 + "\nOK-2,Fine,small\n")
    with pytest.raises(CommandError, match="1 row"):
        call_command("import_catalog", str(tmp_path / "big.csv"), stdout=io.StringIO(), stderr=(err := io.StringIO()))
    assert "line 2: unreadable row: field larger than field limit" in err.getvalue()
    assert list(Product.objects.values_list("sku", flat=True)) == ["OK-2"]


def test_gallery_pages_keep_a_product_filter_with_ampersand_and_plus(client, merchandiser):
    # a SKU from before SKUs were checked (stored directly), with characters a query string must escape
    product = Product.objects.create(sku="A&B+C", name="Legacy")
    for seed in range(30):
        finished_job(product=product, seed=seed)
    client.force_login(merchandiser)
    response = client.get(reverse("generation:job_list"), {"product": "A&B+C"})
    assert response.status_code == 200 and len(response.context["page"].object_list) == 24
    assert "product=A%26B%2BC" in response.content.decode()
    second = client.get(reverse("generation:job_list") + "?product=A%26B%2BC&page=2")
    assert len(second.context["page"].object_list) == 6


def test_a_sweep_of_a_hundred_values_is_refused_and_queues_nothing(client, admin_user, redis_server):
    job = finished_job(created_by=admin_user)
    client.force_login(admin_user)
    values = ", ".join(str(n) for n in range(1, 101))
    response = client.post(reverse("experiments:sweep_create", args=[job.pk]), {"parameter": "seed", "values": values}, follow=True)
    assert "a sweep takes at most 8" in response.content.decode()
    assert GenerationJob.objects.count() == 1 and not Experiment.objects.exists()


def test_the_sweep_view_checks_its_permission(client, reviewer, redis_server):
    job = finished_job()
    client.force_login(reviewer)
    response = client.post(reverse("experiments:sweep_create", args=[job.pk]), {"parameter": "seed", "values": "1, 2"})
    assert response.status_code == 403 and GenerationJob.objects.count() == 1


def test_report_escapes_justifications_names_the_prompt_and_orders_runs_by_number(client, reviewer):
    from evaluation.services import evaluation_submit

    experiment = Experiment.objects.create(name="Sweep of seed")
    jobs = {name: finished_job(experiment=experiment, run_name=name, prompt="red mug <b>on</b> oak")
            for name in ("seed_10", "seed_2", "seed_1")}
    scores = dict(prompt_adherence=1, visual_realism=1, artifacts=1, ecommerce_usability=1, reproducibility=1)
    evaluation_submit(job=jobs["seed_2"], user=reviewer, scores=scores,
                      justification="<script>alert(1)</script> **not bold** [link](http://evil.example)")
    client.force_login(reviewer)
    archive = zipfile.ZipFile(io.BytesIO(client.get(reverse("experiments:experiment_report", args=[experiment.pk])).content))
    report = archive.read("report.md").decode()
    assert "<script>" not in report and "&lt;script&gt;" in report
    assert r"\*\*not bold\*\*" in report and r"\[link\]\(http://evil.example\)" in report
    assert r"Prompt: red mug &lt;b&gt;on&lt;/b&gt; oak" in report
    table = [line for line in report.splitlines() if line.startswith("| seed")]
    assert [row.split(" | ")[0] for row in table[:3]] == [r"| seed\_1", r"| seed\_2", r"| seed\_10"]


def test_feed_writes_formula_like_skus_as_text(client, merchandiser):
    product = Product.objects.create(sku="=1+2*3", name="Legacy formula")  # stored before SKUs were checked
    job = finished_job(product=product)
    GenerationJob.objects.filter(pk=job.pk).update(decision="approved")
    from generation.services import job_publish

    job_publish(job_id=job.pk)
    client.force_login(merchandiser)
    rows = list(csv.reader(io.StringIO(client.get(reverse("catalog:approved_feed")).content.decode())))
    assert rows[1][0] == "'=1+2*3"


def test_rq_stats_are_for_superusers_not_every_staff_member(client, admin_user):
    client.force_login(make_user("staffer", None, is_staff=True))
    assert client.get("/django-rq/stats.json").status_code == 401
    client.force_login(admin_user)
    assert client.get("/django-rq/stats.json").status_code == 200


def test_admin_retry_action_requeues_a_failed_job_of_ones_own(client, admin_user, redis_server):
    failed = GenerationJob.objects.create(prompt="x", seed=1, status="failed", error="boom", created_by=admin_user)
    client.force_login(admin_user)
    client.post(reverse("admin:generation_generationjob_changelist"), {"action": "retry", "_selected_action": [failed.pk]})
    failed.refresh_from_db()
    assert failed.status == "queued" and failed.error == ""


def test_job_page_uses_labels_shows_the_model_once_and_never_step_0_of_0(client, merchandiser):
    job = finished_job(created_by=merchandiser)
    running = GenerationJob.objects.create(prompt="x", seed=1, status="running", progress_total=0, created_by=merchandiser)
    client.force_login(merchandiser)
    page = client.get(job.get_absolute_url()).content.decode()
    assert "<th>Steps</th>" in page and "<th>Guidance (CFG)</th>" in page and "<th>num_inference_steps" not in page
    assert page.count("<th>Model</th>") == 1
    assert "step 0 of 0" not in client.get(running.get_absolute_url()).content.decode()


def test_error_pages_are_sd_studio_pages_with_the_reason(client, merchandiser, redis_server):
    other = make_user("other-merch", "Merchandisers")
    queued = GenerationJob.objects.create(prompt="x", seed=1, created_by=other)
    client.force_login(merchandiser)
    denied = client.post(reverse("generation:job_cancel", args=[queued.pk]))
    assert denied.status_code == 403
    text = denied.content.decode()
    assert "SD Studio" in text and "Not allowed" in text and f"started job #{queued.pk}" in text
    missing = client.get("/jobs/999999/")
    assert missing.status_code == 404 and "Not found" in missing.content.decode() and 'rel="icon"' in missing.content.decode()


def test_study_page_states_the_prompt_refreshes_while_running_and_draws_no_chart_for_a_seed_sweep(client, merchandiser):
    experiment = Experiment.objects.create(name="Sweep of seed")
    for seed in (1, 2, 3):
        finished_job(experiment=experiment, run_name=f"seed_{seed}", seed=seed, prompt="green lamp on marble")
    client.force_login(merchandiser)
    page = client.get(experiment.get_absolute_url()).content.decode()
    assert "green lamp on marble" in page and "Time against steps" not in page and 'http-equiv="refresh"' not in page
    GenerationJob.objects.create(prompt="green lamp on marble", seed=4, experiment=experiment)
    assert 'http-equiv="refresh"' in client.get(experiment.get_absolute_url()).content.decode()


SCORES = dict(prompt_adherence=2, visual_realism=1, artifacts=2, ecommerce_usability=1, reproducibility=2)


def test_update_my_scores_starts_from_my_scores_and_scoring_keeps_the_queue(client, reviewer):
    from evaluation.services import evaluation_submit

    job = finished_job()
    evaluation_submit(job=job, user=reviewer, scores=SCORES, justification="- crisp edges")
    client.force_login(reviewer)
    page = client.get(job.get_absolute_url() + "?next=queue").content.decode()
    assert 'name="prompt_adherence" value="2" required id="id_prompt_adherence_2" checked' in page
    assert 'name="visual_realism" value="1" required id="id_visual_realism_1" checked' in page
    assert "- crisp edges</textarea>" in page
    response = client.post(reverse("evaluation:evaluate", args=[job.pk]), {**SCORES, "justification": "x", "next": "queue"})
    assert response.url == f"{job.get_absolute_url()}?next=queue"


def test_a_decision_in_the_queue_opens_the_next_job_in_queue_mode(client, reviewer):
    first, second = finished_job(seed=1), finished_job(seed=2)
    client.force_login(reviewer)
    response = client.post(reverse("evaluation:decide", args=[first.pk]), {"decision": "approved", "next": "queue"})
    assert response.url == f"{second.get_absolute_url()}?next=queue"


def test_a_refused_decision_keeps_what_was_typed_and_names_the_real_problem(client, reviewer):
    job = finished_job()
    client.force_login(reviewer)
    reason = "halo on the left edge " * 250  # 5,500 characters: over the 2,000 limit
    response = client.post(reverse("evaluation:decide", args=[job.pk]), {"decision": "rejected", "reason": reason}, follow=True)
    page = response.content.decode()
    assert "at most 2000 characters" in page and "Say why it is rejected" not in page
    assert "halo on the left edge halo" in page.split('id="id_reason"')[1][:200]
    job.refresh_from_db()
    assert job.decision == ""


def test_password_reset_sends_a_real_link_when_mail_is_configured(client, settings, mailoutbox):
    user = make_user("forgetful", "Merchandisers", email="forgetful@example.com")
    settings.SDSTUDIO_PASSWORD_RESET, settings.SDSTUDIO_MAIL_TO_CONSOLE = True, True
    page = client.get("/accounts/password_reset/").content.decode()
    assert "printed in the terminal" in page and "SD Studio" in page and "Django administration" not in page
    response = client.post("/accounts/password_reset/", {"email": "forgetful@example.com"}, follow=True)
    assert "Check your email" in response.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["forgetful@example.com"]
    link = next(word for word in mailoutbox[0].body.split() if "/accounts/reset/" in word)
    form_page = client.get(link.split("testserver", 1)[-1], follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": "a-new-pass-phrase-9", "new_password2": "a-new-pass-phrase-9"}, follow=True)
    assert "Password changed" in done.content.decode()
    user.refresh_from_db()
    assert user.check_password("a-new-pass-phrase-9")


def test_password_reset_without_mail_says_so_and_sends_nothing(client, settings, mailoutbox):
    make_user("forgetful", "Merchandisers", email="forgetful@example.com")
    settings.SDSTUDIO_PASSWORD_RESET = False
    response = client.post("/accounts/password_reset/", {"email": "forgetful@example.com"})
    assert response.status_code == 200 and "cannot reset a password by email" in response.content.decode()
    assert mailoutbox == []
