"""Figures that follow their filters in a real browser: the dashboard with a segment, the
NPS dashboard with a survey, the dashboard right after a publish, an account's why."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from leads.models import Lead, Segment, StageChange, StageSnapshot, Tag
from leads.services import accounts_rollup, buying_roles_ensure
from tests.browser.conftest import sign_in
from tests.factories import AccountFactory, LeadFactory, MarketerFactory

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = "/tmp/work/shots14"


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def shot(page, name):
    import os

    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def chart_json(page, selector):
    url = page.get_attribute(selector, "data-chart-url")
    return page.evaluate("url => fetch(url).then(r => r.json())", url)


def test_dashboard_with_a_segment_counts_only_the_segment(page, spec_model):
    MarketerFactory(username="mia")
    hot = Tag.objects.create(name="hot")
    ten_days_ago = timezone.now() - timedelta(days=10)
    inside = LeadFactory(stage=4, score=120)
    inside.tags.add(hot)
    Lead.objects.filter(pk=inside.pk).update(created_at=ten_days_ago, appeared_at=ten_days_ago)
    StageChange.objects.create(
        lead=inside, from_stage=1, to_stage=4, at=timezone.now() - timedelta(days=2), reason="event"
    )
    LeadFactory.create_batch(4, stage=2, score=40)
    for offset in range(5):  # snapshots count every lead: 4 in stage 2, 1 sales-ready
        day = timezone.now().date() - timedelta(days=offset)
        StageSnapshot.objects.create(day=day, stage=2, count=4)
        StageSnapshot.objects.create(day=day, stage=4, count=1)
    segment = Segment.objects.create(name="Hot leads", filters={"tag": ["hot"]})
    sign_in(page, "mia")
    page.goto(f"/leads/dashboard/?segment={segment.pk}")
    assert page.inner_text("#stage-now .stage-4 .count") == "1"
    assert "of 1" in page.inner_text("#stage-now .stage-4 .pct")
    comparison = page.inner_text("#comparison tbody")
    assert "Stage 2" not in comparison and "Sales-ready" in comparison  # not the snapshots' 4 leads
    assert page.inner_text("#velocity tr[data-stage='2'] td:nth-child(2)") == "0"
    stages = chart_json(page, "#chart-stages")
    assert {d["label"]: d["data"][-1] for d in stages["datasets"]} == {"Stage 1": 0, "Sales-ready (MQL)": 1}
    scores = chart_json(page, "#chart-scores")
    assert sum(scores["datasets"][0]["data"]) == 1
    page.wait_for_timeout(500)
    shot(page, "dashboard-segment")


def test_nps_dashboard_with_a_survey_filter(page, spec_model):
    from surveys.models import Response
    from tests.factories import SurveyFactory

    MarketerFactory(username="mia")
    chosen, other = SurveyFactory(name="Q3 NPS"), SurveyFactory(name="Other")
    acme = AccountFactory(name="Acme")
    ana, bo = LeadFactory(account=acme, name="Ana"), LeadFactory(account=acme, name="Bo")
    now = timezone.now()
    for survey, lead, score in ((chosen, ana, 10), (other, ana, 2), (other, bo, 3)):
        Response.objects.create(survey=survey, lead=lead, score=score, channel="personal", answered_at=now)
        Lead.objects.filter(pk=lead.pk).update(nps_score=score, nps_answered_at=now)
    sign_in(page, "mia")
    page.goto(f"/surveys/?survey={chosen.pk}")
    by_account = page.locator("section:has(h2:has-text('By account'))").inner_text()
    assert "Acme" in by_account and "to this survey" in by_account
    assert "+100" in by_account  # Ana's 10 only; Bo answered the other survey
    page.wait_for_timeout(500)
    shot(page, "nps-survey-filter")
    page.goto("/surveys/")  # all surveys: each lead's latest answer, both detractors
    row = page.locator("section:has(h2:has-text('By account')) tbody tr").inner_text().split()
    assert row[:5] == ["Acme", "2", "0", "0", "2"]


def test_dashboard_right_after_publishing_says_recalculating(page, spec_model):
    from models_review.services import version_import
    from tests.conftest import SPEC_MODEL

    MarketerFactory(username="mia")
    LeadFactory.create_batch(3, stage=1)
    sign_in(page, "mia")
    page.goto("/leads/dashboard/")
    assert page.inner_text("#stage-now .stage-1 .count") == "3"
    LeadFactory(stage=4, score=150)
    version_import(data={**SPEC_MODEL, "note": "v2"}, publish=True)  # workers not running: queued
    page.goto("/leads/dashboard/")
    assert "being recalculated" in page.inner_text("#recalculating")
    assert page.inner_text("#stage-now .stage-4 .count") == "1"  # not the cached counts from before
    shot(page, "dashboard-after-publish")


def test_account_page_shows_its_why(page, spec_model):
    MarketerFactory(username="mia")
    buying_roles_ensure()
    now = timezone.now()
    account = AccountFactory(name="Initech")
    LeadFactory(
        account=account, name="Ana", title="VP Sales", score=120, last_engaged_at=now - timedelta(days=3)
    )
    LeadFactory(
        account=account, name="Bo", title="Analyst", score=95, last_engaged_at=now - timedelta(days=10)
    )
    for n in range(10):
        LeadFactory(
            account=account,
            name=f"Old {n}",
            title="Engineer",
            score=50,
            last_engaged_at=now - timedelta(days=200),
        )
    accounts_rollup(as_of=now)
    sign_in(page, "mia")
    page.goto(f"/leads/accounts/{account.pk}/")
    assert page.inner_text("#account-score") == "215.0"
    assert "Sales-ready" in page.inner_text("#ready-reason")
    assert page.locator("#members tr:has-text('outside 90 days: counts 0')").count() == 10
    shot(page, "account-why")
