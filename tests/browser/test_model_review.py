"""A marketer changes the model through the browser; a rep gives feedback with one click."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.ingest.events import NewEvent, events_ingest
from models_review import services
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
    points = page.locator(f"[data-rule='{rule.pk}'] .cell-points input")
    points.fill("oops")
    points.dispatch_event("change")
    page.wait_for_selector(f"[data-rule='{rule.pk}'] .field-error:has-text('points: must be a number')")
    points.fill("40")
    page.fill("#id_note", "Forms show buying intent: reps said form leads were ready (feedback).")
    page.click("#save-draft")
    page.wait_for_selector("text=Draft v2 saved")
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


def test_draft_editor_keeps_two_row_edits_and_a_setting_after_one_save(page, marketer, spec_model):
    draft = services.draft_copy(source=spec_model, by=marketer)
    video, form = draft.rules.get(event_type="video_play"), draft.rules.get(event_type="form_submit")
    sign_in(page, "marketer")
    page.goto(reverse("models_review:version", args=[draft.pk]))
    page.locator(f"[data-rule='{video.pk}'] .cell-points input").fill("12")
    page.locator(f"[data-rule='{form.pk}'] .cell-points input").fill("33")
    page.fill("#id_sales_ready_score", "110")
    assert page.locator("[data-unsaved]").is_visible()
    page.click("text=Add a rule")
    new_row = page.locator("#rule-rows [data-rule-row]").last
    new_row.locator(".cell-event_type select").select_option("custom")
    new_row.locator(".cell-event_name input").fill("Demo booked")
    new_row.locator(".cell-points input").fill("30")
    _shot(page, "editor-before-save")
    page.click("#save-draft")
    page.wait_for_selector("text=Draft v2 saved: settings and 7 rules")
    page.reload()
    assert page.locator(f"[data-rule='{video.pk}'] .cell-points input").input_value() == "12"
    assert page.locator(f"[data-rule='{form.pk}'] .cell-points input").input_value() == "33"
    assert page.input_value("#id_sales_ready_score") == "110"
    assert page.locator("#rule-rows [data-rule-row]").last.locator(
        ".cell-event_name input"
    ).input_value() == ("Demo booked")
    draft.refresh_from_db()
    assert draft.sales_ready_score == 110
    assert (draft.rules.get(pk=video.pk).points, draft.rules.get(pk=form.pk).points) == (12, 33)


def test_draft_editor_error_keeps_what_was_typed(page, marketer, spec_model):
    draft = services.draft_copy(source=spec_model, by=marketer)
    video = draft.rules.get(event_type="video_play")
    sign_in(page, "marketer")
    page.goto(reverse("models_review:version", args=[draft.pk]))
    page.locator(f"[data-rule='{video.pk}'] .cell-points input").fill("12")
    page.fill("#id_period_days", "0")
    page.fill("#id_note", "kept after an error")
    page.click("#save-draft")
    page.wait_for_selector("text=Nothing was saved")
    assert page.locator(f"[data-rule='{video.pk}'] .cell-points input").input_value() == "12"
    assert page.input_value("#id_note") == "kept after an error"
    assert "decay.period_days: must be greater than 0" in page.inner_text("#draft-editor")
    _shot(page, "editor-error")
    assert draft.rules.get(pk=video.pk).points == 20


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
