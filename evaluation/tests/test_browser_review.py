"""A reviewer in a real browser: score, reject with a reason, approve another; the product page shows it."""
from __future__ import annotations

import pytest

from conftest import finished_job, login, shot
from evaluation.models import Evaluation, ReviewDecision

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_reviewer_scores_rejects_and_approves(page, live_server, reviewer, product):
    # given two outputs of a product waiting for review
    first = finished_job(product=product, run_name="t2i_run05_guid12")
    second = finished_job(product=product, run_name="t2i_run01_baseline", seed=43)
    login(page, live_server, "reviewer")
    # when the reviewer opens the queue and the oldest output
    page.click("text=Review")
    assert page.locator("#review-queue figure").count() == 2
    page.click(f"#review-queue a[href*='/jobs/{first.pk}/']")
    page.wait_for_selector("#rubric-form .field-prompt_adherence.active")  # keyboard scoring is ready
    # and scores it with the keyboard: 2, 1, 2, 1, 2
    for key in "21212":
        page.keyboard.press(key)
    page.fill("#id_justification", "- follows the prompt\n- over-contrasted, unrealistic")
    shot(page, "reviewer-1-scoring")
    page.click("#score-button")
    assert "Scored 8/10." in page.inner_text(".messages")
    assert "8" in page.inner_text("#evaluations")
    # and rejects it with a reason (a rejection without one is refused)
    page.click("#reject-button")
    assert "Say why it is rejected" in page.inner_text(".messages")
    # (what was typed stays when a decision is refused)
    page.fill("#id_reason", "Contrast too harsh for the shop")
    page.click("#reject-button")
    # then, coming from the queue, the next output opens in queue mode
    page.wait_for_url(f"{live_server.url}{second.get_absolute_url()}?next=queue")
    assert f"Job #{first.pk} rejected." in page.inner_text(".messages")
    # and the reviewer approves it there
    page.click("#approve-button")
    page.goto(f"{live_server.url}{first.get_absolute_url()}")
    assert "rejected" in page.inner_text("#decision-history")
    # then the product page shows both decisions
    page.goto(f"{live_server.url}{product.get_absolute_url()}")
    cards = page.inner_text("#product-jobs")
    assert "rejected" in cards and "approved" in cards
    shot(page, "reviewer-2-product-decisions")
    evaluation = Evaluation.objects.get()
    assert evaluation.scores() == {"prompt_adherence": 2, "visual_realism": 1, "artifacts": 2, "ecommerce_usability": 1, "reproducibility": 2}
    decisions = list(ReviewDecision.objects.order_by("id").values_list("job_id", "decision", "reason"))
    assert decisions == [(first.pk, "rejected", "Contrast too harsh for the shop"), (second.pk, "approved", "")]


def _viewport_holds(page, selector: str) -> bool:
    box = page.locator(selector).bounding_box()
    size = page.viewport_size
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= size["height"] and box["x"] + box["width"] <= size["width"]


def test_the_review_page_shows_output_and_rubric_together_and_works_from_the_keyboard(page, live_server, reviewer, product, photo):
    from conftest import ARTIFACTS

    jobs = [finished_job(product=product, run_name=f"seed_{i}", seed=i, mode="img2img", strength=0.6, source_photo=photo)
            for i in (1, 2, 3)]
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}{jobs[0].get_absolute_url()}?next=queue")
    page.wait_for_selector("#rubric-form .field-prompt_adherence.active")
    # the output, its source and the first criterion are all on screen at 1280x800
    assert _viewport_holds(page, "#output-image") and _viewport_holds(page, "#rubric-form .field-prompt_adherence")
    assert _viewport_holds(page, "#source-image")
    assert "s save the scores" in page.inner_text("#review-keys").replace("\n", " ")
    page.screenshot(path=str(ARTIFACTS / "review-1280.png"))
    # three outputs scored and rejected with the keyboard only
    for index, job in enumerate(jobs):
        page.wait_for_url(f"{live_server.url}{job.get_absolute_url()}?next=queue")
        page.wait_for_selector("#rubric-form .field-prompt_adherence.active")
        for key in "21201":
            page.keyboard.press(key)
        page.keyboard.press("s")
        page.wait_for_selector(".messages >> text=Scored 6/10.")
        page.wait_for_selector("#rubric-form .field-prompt_adherence.active")
        page.keyboard.press("r")
        page.keyboard.type(f"background too dark ({index + 1})")
        page.keyboard.press("Control+Enter")
        if index < 2:
            page.wait_for_url(f"{live_server.url}{jobs[index + 1].get_absolute_url()}?next=queue")
    page.wait_for_url(f"{live_server.url}/review/")
    assert Evaluation.objects.filter(total=6).count() == 3
    assert list(ReviewDecision.objects.order_by("id").values_list("job_id", "decision", "reason")) == [
        (job.pk, "rejected", f"background too dark ({i + 1})") for i, job in enumerate(jobs)]
    # on a phone the same page stacks: no sideways scrolling
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}{jobs[0].get_absolute_url()}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    page.screenshot(path=str(ARTIFACTS / "review-390.png"), full_page=True)


def test_a_reviewer_filters_the_queue_and_approves_a_selection_at_once(page, live_server, reviewer, product):
    from catalog.models import Product

    other = Product.objects.create(sku="MUG-1", name="Mug")
    wanted = [finished_job(product=product, run_name=f"hp_{i}", seed=i, prompt=f"black headphones {i}") for i in range(3)]
    finished_job(product=other, run_name="mug", seed=9, prompt="a red mug")
    login(page, live_server, "reviewer")
    page.goto(f"{live_server.url}/review/")
    assert page.locator("#review-queue figure").count() == 4
    assert "black headphones 0" in page.inner_text("#review-queue") and "not scored yet" in page.inner_text("#review-queue")
    page.fill("#queue-filters input[name=product]", product.sku)
    page.click("#queue-filters button")
    assert page.locator("#review-queue figure").count() == 3
    for job in wanted[:2]:
        page.check(f"#review-queue input[value='{job.pk}']")
    page.click("#bulk-approve")
    page.wait_for_selector(".messages >> text=2 outputs approved")
    assert f"product={product.sku}" in page.url  # the filter is kept
    assert page.locator("#review-queue figure").count() == 1
    decided = ReviewDecision.objects.order_by("job_id")
    assert [(d.job_id, d.decision, d.decided_by.username) for d in decided] == [(j.pk, "approved", "reviewer") for j in wanted[:2]]
    # a rejection of a selection needs its one reason; the selection and the typed text are not lost on a refusal
    page.check(f"#review-queue input[value='{wanted[2].pk}']")
    page.click("#bulk-reject")
    assert "Say why it is rejected" in page.inner_text(".messages")
    assert ReviewDecision.objects.count() == 2
    # and the queue fits a phone: no sideways scrolling at 390 px
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/review/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


def test_the_rerun_comparison_page_shows_both_outputs_and_the_difference(page, live_server, admin_user, product):
    from generation.models import GenerationJob

    original = finished_job(product=product, run_name="baseline")
    rerun = finished_job(product=product, run_name="baseline")
    GenerationJob.objects.filter(pk=rerun.pk).update(rerun_of=original, rerun_result="identical", rerun_max_pixel_diff=0)
    login(page, live_server, "boss")
    page.goto(f"{live_server.url}{original.get_absolute_url()}")
    page.click(f"#reruns a[href='/jobs/{rerun.pk}/compare/']")
    page.wait_for_selector("#compare-difference")
    assert "identical pixels" in page.inner_text("#compare-verdict")
    for selector in ("#compare-original", "#compare-rerun", "#compare-difference"):
        assert page.eval_on_selector(selector, "img => img.complete && img.naturalWidth") == 64, selector
    # the difference map is black for identical pixels
    response = page.request.get(f"{live_server.url}/jobs/{rerun.pk}/compare/difference.png")
    from io import BytesIO

    from PIL import Image

    assert Image.open(BytesIO(response.body())).getextrema() == (0, 0)
    page.goto(f"{live_server.url}{rerun.get_absolute_url()}")
    assert page.is_visible("#compare-link")
