from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from leads.engine import scoring
from leads.models import Event, StageChange
from models_review.models import Review, SalesFeedback
from models_review.selectors import next_review_due, review_checklist, review_schedule
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_first_review_is_due_60_days_after_the_first_version_went_live():
    assert next_review_due(first_live_on=date(2026, 1, 10), last_review_on=None) == date(2026, 3, 11)


def test_later_reviews_are_due_90_days_after_the_last_one():
    assert next_review_due(first_live_on=date(2026, 1, 10), last_review_on=date(2026, 3, 15)) == date(
        2026, 6, 13
    )


def _went_live(version, when):
    # published_at is frozen with the version, so back-dating it means lifting the trigger
    # inside this test's transaction (rolled back with it).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TRIGGER IF EXISTS models_review_version_immutable"
            + (" ON models_review_modelversion" if connection.vendor == "postgresql" else "")
        )
        cursor.execute(
            "UPDATE models_review_modelversion SET published_at = %s WHERE id = %s", [when, version.pk]
        )


def test_schedule_reads_the_first_publication_and_the_last_review(spec_model, marketer):
    _went_live(spec_model, datetime(2026, 1, 10, 12, tzinfo=UTC))
    schedule = review_schedule(today=date(2026, 3, 12))
    assert schedule.due_on == date(2026, 3, 11) and schedule.is_overdue and schedule.overdue_days == 1
    Review.objects.create(
        version=spec_model,
        due_on=date(2026, 3, 11),
        completed_by=marketer,
        completed_at=datetime(2026, 3, 15, 9, tzinfo=UTC),
    )
    schedule = review_schedule(today=date(2026, 3, 16))
    assert schedule.due_on == date(2026, 6, 13) and not schedule.is_overdue


def test_overdue_banner_shows_on_the_home_page_for_marketers(client, spec_model, marketer, rep):
    _went_live(spec_model, datetime(2025, 1, 10, 12, tzinfo=UTC))
    client.force_login(marketer)
    assert 'id="review-overdue"' in client.get("/").content.decode()
    client.force_login(rep)
    assert 'id="review-overdue"' not in client.get("/").content.decode()


def test_no_banner_when_the_review_is_not_due(client, spec_model, marketer):
    client.force_login(marketer)
    assert 'id="review-overdue"' not in client.get("/").content.decode()


@pytest.fixture
def rated_history(spec_model, rep):
    """Ten leads reached sales-ready under v1. Four became opportunities (one of them by a
    rep's outcome only, one then won); reps answered yes on three, no on two."""
    leads = [LeadFactory(name=f"L{i}", engine_state={"tallies": {"1": 5, "2": 3, "3": 4}}) for i in range(10)]
    at = datetime(2026, 2, 1, tzinfo=UTC)
    StageChange.objects.bulk_create(
        [
            StageChange(
                lead=lead,
                from_stage=3,
                to_stage=scoring.SALES_READY,
                at=at,
                reason="event",
                version=spec_model,
            )
            for lead in leads
        ]
    )
    for lead in leads[:3]:
        StageChange.objects.create(
            lead=lead, from_stage=4, to_stage=scoring.OPPORTUNITY, at=at, reason="manual"
        )
    StageChange.objects.create(lead=leads[0], from_stage=5, to_stage=scoring.CUSTOMER, at=at, reason="manual")
    SalesFeedback.objects.create(lead=leads[3], rep=rep, outcome="opportunity", version=spec_model)
    for lead, really in zip(leads[4:9], [True, True, True, False, False]):
        SalesFeedback.objects.create(lead=lead, rep=rep, really_sales_ready=really, version=spec_model)
    # actions: every good lead submitted a form, two watched the demo; bad leads read careers pages
    events = []
    for lead in leads[4:7]:
        events.append(Event(lead=lead, type="form_submit", occurred_at=at, asset_key="demo-request"))
    for lead in leads[4:6]:
        events.append(Event(lead=lead, type="video_play", occurred_at=at, asset_key="product-demo"))
    for lead in leads[7:9]:
        events.append(
            Event(lead=lead, type="page_view", occurred_at=at, asset_key="https://x.example/careers")
        )
    Event.objects.bulk_create(events)
    # a lead that was never sales-ready under v1 does not count
    StageChange.objects.create(
        lead=LeadFactory(), from_stage=1, to_stage=scoring.OPPORTUNITY, at=at, reason="manual"
    )
    return leads


def test_checklist_ratios_on_a_hand_built_history(spec_model, rated_history):
    checklist = review_checklist(version=spec_model)
    assert checklist.sales_ready_leads == 10
    assert checklist.became_opportunity == 4 and checklist.opportunity_ratio == 0.4
    assert checklist.became_won == 1 and checklist.won_ratio == 0.1
    assert (checklist.answers_yes, checklist.answers_no) == (
        3,
        2,
    ) and checklist.really_sales_ready_share == 0.6
    assert checklist.good_actions[0] == {"action": "Form submit: demo-request", "leads": 3, "share": 1.0}
    assert (
        checklist.good_actions[1]["action"] == "Video play: product-demo"
        and checklist.good_actions[1]["leads"] == 2
    )
    assert checklist.bad_actions == [
        {"action": "Page view: https://x.example/careers", "leads": 2, "share": 1.0}
    ]
    # §4: T = 100 with 5 + 3 + 4 = 12 interactions → 8 points each
    averages = [average for _, _, average in checklist.calibration.averages]
    assert averages == [5, 3, 4] and checklist.suggested_points == 8


def test_completing_a_review_records_answers_notes_and_figures(client, marketer, spec_model, rated_history):
    client.force_login(marketer)
    page = client.get(reverse("models_review:reviews")).content.decode()
    assert 'id="opportunity-ratio">40 %' in page and 'id="suggested-points">8<' in page
    answers = {
        "opportunity_ratio_ok": "no",
        "won_ratio_ok": "yes",
        "reps_agree": "yes",
        "actions_reviewed": "yes",
        "calibration_reviewed": "no",
    }
    response = client.post(reverse("models_review:reviews"), {**answers, "notes": "Raise T to 110"})
    assert response.status_code == 302
    review = Review.objects.get()
    assert review.answers == answers and review.notes == "Raise T to 110" and review.completed_by == marketer
    assert review.figures["opportunity_ratio"] == 0.4 and review.version == spec_model


def test_an_unanswered_checklist_is_refused(client, marketer, spec_model):
    client.force_login(marketer)
    response = client.post(reverse("models_review:reviews"), {"notes": "done"})
    assert response.status_code == 200 and not Review.objects.exists()
    assert "This field is required" in response.content.decode()


def test_reviews_page_without_a_live_version_says_so(client, marketer):
    client.force_login(marketer)
    response = client.get(reverse("models_review:reviews"))
    assert response.status_code == 200 and "No version has gone live yet" in response.content.decode()


def test_reps_notes_on_good_leads_appear_in_the_review(client, marketer, rep, spec_model):
    SalesFeedback.objects.create(
        lead=LeadFactory(name="Gina Good"),
        rep=rep,
        version=spec_model,
        good_actions_note="Watched the <b>pricing</b> video twice",
    )
    client.force_login(marketer)
    html = client.get(reverse("models_review:reviews")).content.decode()
    assert "Watched the &lt;b&gt;pricing&lt;/b&gt; video twice" in html and "Gina Good" in html


def test_checklist_counts_answers_and_outcomes_for_the_version_that_qualified_the_lead(spec_model, rep):
    from models_review.services import version_import
    from tests.conftest import SPEC_MODEL

    lead = LeadFactory()
    at = datetime(2026, 2, 1, tzinfo=UTC)
    StageChange.objects.create(
        lead=lead, from_stage=3, to_stage=scoring.SALES_READY, at=at, reason="event", version=spec_model
    )
    v2 = version_import(data={**SPEC_MODEL, "note": "v2"}, publish=True)
    # The rep answers while v2 is live: the answer and the outcome still belong to v1.
    SalesFeedback.objects.create(
        lead=lead, rep=rep, really_sales_ready=True, outcome="opportunity", version=v2
    )
    v1_list = review_checklist(version=spec_model)
    assert (v1_list.sales_ready_leads, v1_list.answers_yes, v1_list.became_opportunity) == (1, 1, 1)
    v2_list = review_checklist(version=v2)
    assert (v2_list.sales_ready_leads, v2_list.answers_yes, v2_list.became_opportunity) == (0, 0, 0)


def test_review_page_shows_a_small_ratio_with_its_counts_not_a_rounded_zero(
    client, marketer, spec_model, rep
):
    at = datetime(2026, 2, 1, tzinfo=UTC)
    leads = LeadFactory.create_batch(150)
    StageChange.objects.bulk_create(
        [
            StageChange(
                lead=lead,
                from_stage=3,
                to_stage=scoring.SALES_READY,
                at=at,
                reason="event",
                version=spec_model,
            )
            for lead in leads
        ]
    )
    SalesFeedback.objects.create(lead=leads[0], rep=rep, outcome="opportunity", version=spec_model)
    client.force_login(marketer)
    page = client.get(reverse("models_review:reviews")).content.decode()
    assert 'id="opportunity-ratio">&lt; 1 %' in page and 'id="opportunity-count">1 of 150 leads' in page
    assert 'id="evidence-rule"' in page


def test_review_and_tally_report_give_the_same_suggestion(client, marketer, spec_model, rated_history):
    client.force_login(marketer)
    review = client.get(reverse("models_review:reviews")).content.decode()
    tally = client.get(reverse("leads:tally")).content.decode()
    assert 'id="suggested-points">8<' in review and 'id="suggested-points">8<' in tally
    assert "5.0 + 3.0 + 4.0" in tally
