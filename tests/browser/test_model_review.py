"""A marketer changes the model through the browser; a rep gives feedback with one click."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leads.ingest.events import NewEvent, events_ingest
from models_review.models import ModelVersion, SalesFeedback
from tests.browser.conftest import sign_in
from tests.factories import LeadFactory
from tests.rq_support import rq_queue  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = None  # a folder path keeps screenshots while developing


def _forms(lead, count):
    now = timezone.now()
    events_ingest(
        events=[
            NewEvent(type="form_submit", occurred_at=now - timedelta(hours=count - i), lead_id=lead.pk)
            for i in range(count)
        ]
    )


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_marketer_copies_raises_a_rule_previews_and_compares(page, marketer, spec_model, rq_queue):  # noqa: F811
    from rq import SimpleWorker

    near = LeadFactory(name="Nadia Near")
    _forms(near, 3)  # 75 under the live model; 3 × 40 = 120 under the draft
    _forms(LeadFactory(name="Felix Far"), 1)
    sign_in(page, "marketer")
    page.click("nav >> text=Model")
    page.click("#copy-active")
    page.wait_for_selector("text=Draft v2 copied")
    draft = ModelVersion.objects.get(number=2)
    rule = draft.rules.get(event_type="form_submit")
    points = page.locator(f"#id_rule-{rule.pk}-points")
    points.fill("oops")
    points.dispatch_event("change")
    page.wait_for_selector(f"#err-id_rule-{rule.pk}-points:has-text('points: must be a number')")
    points.fill("40")
    page.locator(f"[data-rule='{rule.pk}'] button:has-text('Save')").click()
    page.wait_for_selector("text=Rule saved.")
    page.fill("#id_note", "Forms show buying intent: reps said form leads were ready (feedback).")
    page.click("text=Save settings")
    page.wait_for_selector("text=Settings saved.")
    _shot(page, "draft")

    page.click("#preview")
    page.wait_for_selector("#preview-run")
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    page.wait_for_selector("#gain-count")
    assert page.inner_text("#gain-count") == "1"
    assert page.locator("#gains").get_by_text("Nadia Near").count() == 1
    page.wait_for_timeout(800)
    _shot(page, "preview")

    page.click("text=Back to the draft")
    page.click("text=Compare versions")
    header = page.locator("th[data-version='2']")
    assert "Forms show buying intent" in header.inner_text() and "marketer" in header.inner_text()
    assert page.locator("#sheet td.changed").first.inner_text() == "40"
    _shot(page, "sheet")


def test_rep_leaves_feedback_with_one_click_and_a_note(page, rep, spec_model):
    lead = LeadFactory(name="Rita Ready", owner=rep, score=120, stage=4)
    LeadFactory(name="Someone Else's")
    sign_in(page, "rep")
    page.click("nav >> text=My leads")
    assert page.locator("#my-leads").get_by_text("Someone Else's").count() == 0
    row = page.locator(f"tr[data-lead='{lead.pk}']")
    row.locator("button.verdict-yes").click()
    page.wait_for_selector(f"tr[data-lead='{lead.pk}'] button.verdict-yes.chosen")
    assert SalesFeedback.objects.get(lead=lead, rep=rep).really_sales_ready is True

    row.locator("text=Reason, outcome, note").click()
    page.select_option("select[name=reason]", "good_fit")
    page.fill("textarea[name=note]", "Asked for a quote <script>alert(1)</script>")
    page.click("text=Save feedback")
    page.wait_for_selector(".lead-feedback .saved")
    assert page.inner_text(".note-text") == "Asked for a quote <script>alert(1)</script>"
    feedback = SalesFeedback.objects.get(lead=lead, rep=rep)
    assert (feedback.really_sales_ready, feedback.reason, feedback.note) == (
        True,
        "good_fit",
        "Asked for a quote <script>alert(1)</script>",
    )
    _shot(page, "feedback")
