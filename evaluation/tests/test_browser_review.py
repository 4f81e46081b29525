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
