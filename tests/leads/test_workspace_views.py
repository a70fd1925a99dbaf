"""Access, allow-listed filters and htmx fragments of the workspace pages."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from leads.ingest.events import NewEvent, events_ingest
from leads.models import Event, Lead, StageSnapshot
from tests.conftest import day
from tests.factories import AccountFactory, LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

MARKETER_ONLY = [
    "/leads/dashboard/",
    "/leads/segments/",
    "/leads/tally/",
    "/leads/dashboard/charts/stages.json",
    "/leads/dashboard/charts/scores.json",
]


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.mark.parametrize("url", MARKETER_ONLY + ["/leads/"])
def test_anonymous_visitors_are_sent_to_sign_in(client, url):
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


@pytest.mark.parametrize("url", MARKETER_ONLY)
def test_reps_cannot_reach_marketer_pages(client, rep, spec_model, url):
    client.force_login(rep)
    assert client.get(url).status_code == 403


def test_rep_sees_only_their_leads_and_404_on_others(client, rep, spec_model):
    mine = LeadFactory(owner=rep, name="Mine Lead")
    theirs = LeadFactory(owner=RepFactory(), name="Other Lead")
    client.force_login(rep)
    listing = client.get("/leads/").content.decode()
    assert "Mine Lead" in listing and "Other Lead" not in listing
    assert client.get(f"/leads/{mine.pk}/").status_code == 200
    assert client.get(f"/leads/{theirs.pk}/").status_code == 404
    assert client.get(f"/leads/{theirs.pk}/chart.json").status_code == 404
    assert client.post(f"/leads/{theirs.pk}/tags/", {"tag": "x"}).status_code == 404
    assert client.post(f"/leads/{mine.pk}/adjust/", {"points": 5, "reason": "r"}).status_code == 403
    # Filtering by another owner cannot widen what a rep sees.
    assert "Other Lead" not in client.get(f"/leads/?owner={theirs.owner_id}").content.decode()


@pytest.mark.parametrize(
    "query, field",
    [
        ("sort=score;DROP", "sort"),
        ("colour=red", "colour"),
        ("score_min=ten", "score_min"),
        ("page=0", "page"),
    ],
)
def test_bad_list_parameters_are_a_400_naming_the_field(client, marketer, spec_model, query, field):
    client.force_login(marketer)
    response = client.get(f"/leads/?{query}")
    assert response.status_code == 400
    assert f"{field}:" in response.content.decode()


def test_list_filters_sorts_and_answers_htmx_with_the_table_only(client, marketer, spec_model):
    account = AccountFactory(name="Acme")
    LeadFactory(name="Low", score=20, stage=1, account=account)
    LeadFactory(name="High", score=90, stage=3, account=account)
    LeadFactory(name="Elsewhere", score=50, stage=2)
    client.force_login(marketer)
    response = client.get(f"/leads/?account={account.pk}&sort=score", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.index("Low") < html.index("High") and "Elsewhere" not in html
    assert "2 leads" in html
    error = client.get("/leads/?sort=score;DROP", HTTP_HX_REQUEST="true")
    assert error.status_code == 400 and "sort: must be one of" in error.content.decode()


def test_list_counts_are_capped(client, marketer, spec_model, monkeypatch):
    monkeypatch.setattr("leads.workspace.selectors.LIST_COUNT_CAP", 3)
    LeadFactory.create_batch(5)
    client.force_login(marketer)
    assert "More than 3 leads" in client.get("/leads/").content.decode()


def test_lead_page_contributions_sum_to_the_displayed_score(client, marketer, spec_model):
    lead = LeadFactory()
    events_ingest(
        events=[
            NewEvent(type="form_submit", occurred_at=day(0), lead_id=lead.pk),
            NewEvent(type="video_play", occurred_at=day(1), lead_id=lead.pk, properties={"percent": 50}),
            NewEvent(type="page_view", occurred_at=day(2), lead_id=lead.pk, url="https://x.example/careers/"),
        ],
        now=day(2),
    )
    client.force_login(marketer)
    response = client.get(f"/leads/{lead.pk}/")
    context = response.context
    assert context["contribution_total"] == pytest.approx(context["score_now"])
    # form 25 + half a video 10 + careers page −10; the score sits below the decay floor (50), so no ticks.
    assert context["score_now"] == pytest.approx(25.0)
    assert response.content.decode().count('class="event"') == 3
    assert f'id="score-now">{context["score_now"]:.2f}<' in response.content.decode()


def test_lead_chart_has_a_point_per_contribution_and_now(client, marketer, spec_model):
    lead = LeadFactory()
    events_ingest(events=[NewEvent(type="form_submit", occurred_at=day(0), lead_id=lead.pk)], now=day(0))
    client.force_login(marketer)
    data = client.get(f"/leads/{lead.pk}/chart.json").json()
    assert data["datasets"][0]["data"][0] == 25
    assert data["datasets"][0]["data"][-1] == pytest.approx(Lead.objects.get(pk=lead.pk).score, abs=0.01)


def test_manual_adjustment_becomes_an_event_and_bad_input_is_refused(client, marketer, spec_model):
    lead = LeadFactory()
    client.force_login(marketer)
    client.post(f"/leads/{lead.pk}/adjust/", {"points": "ten", "reason": "call"})
    client.post(f"/leads/{lead.pk}/adjust/", {"points": "10", "reason": ""})
    assert not Event.objects.filter(lead=lead).exists()
    client.post(f"/leads/{lead.pk}/adjust/", {"points": "12.5", "reason": "Met at the fair"})
    event = Event.objects.get(lead=lead)
    assert event.type == "manual" and event.properties["reason"] == "Met at the fair"
    assert Lead.objects.get(pk=lead.pk).score == pytest.approx(12.5)


def test_adjustment_errors_name_the_field(client, marketer, spec_model):
    lead = LeadFactory()
    client.force_login(marketer)
    response = client.post(f"/leads/{lead.pk}/adjust/", {"points": "ten", "reason": "call"}, follow=True)
    assert "points: Enter a number of points" in response.content.decode()


def test_tags_are_added_and_removed_inline(client, marketer, spec_model):
    lead = LeadFactory()
    client.force_login(marketer)
    added = client.post(f"/leads/{lead.pk}/tags/", {"tag": "  webinar   fan "}, HTTP_HX_REQUEST="true")
    assert (
        added.status_code == 200
        and "webinar fan" in added.content.decode()
        and "<html" not in added.content.decode()
    )
    assert list(lead.tags.values_list("name", flat=True)) == ["webinar fan"]
    bad = client.post(f"/leads/{lead.pk}/tags/", {"tag": "<script>"}, HTTP_HX_REQUEST="true")
    assert (
        bad.status_code == 400 and "tag:" in bad.content.decode() and "<script>" not in bad.content.decode()
    )
    client.post(f"/leads/{lead.pk}/tags/", {"remove": "webinar fan"}, HTTP_HX_REQUEST="true")
    assert not lead.tags.exists()


def test_dashboard_renders_figures_and_refuses_a_bad_range(client, marketer, spec_model):
    LeadFactory(stage=4, score=120)
    LeadFactory(stage=1, score=5)
    StageSnapshot.objects.create(day=day(0).date(), stage=1, count=3)
    client.force_login(marketer)
    response = client.get("/leads/dashboard/")
    assert response.status_code == 200
    tiles = {c.stage: c for c in response.context["board"].stage_counts}
    assert tiles[4].count == 1 and tiles[4].percent == 50.0
    bad = client.get("/leads/dashboard/?since=2026-02-01&until=2026-01-01")
    assert bad.status_code == 400 and "since: must be on or before" in bad.content.decode()
    assert client.get("/leads/dashboard/charts/stages.json?since=junk").status_code == 400


def test_stage_chart_serves_snapshot_series(client, marketer, spec_model):
    StageSnapshot.objects.create(day=day(0).date(), stage=1, count=3)
    StageSnapshot.objects.create(day=day(0).date(), stage=4, count=2)
    client.force_login(marketer)
    data = client.get("/leads/dashboard/charts/stages.json?since=2026-01-01&until=2026-01-05").json()
    assert data["labels"] == ["2026-01-01"]
    assert [(d["label"], d["data"]) for d in data["datasets"]] == [
        ("Stage 1", [3]),
        ("Sales-ready (MQL)", [2]),
    ]


def test_accounts_list_and_page(client, marketer, spec_model):
    account = AccountFactory(name="Acme <Corp>", score=150, member_count=2)
    recently = timezone.now() - timedelta(days=1)
    LeadFactory(account=account, name="Ann", score=100, last_engaged_at=recently)
    LeadFactory(account=account, name="Bob", score=50, last_engaged_at=recently)
    LeadFactory(account=account, name="Cy", score=80)  # never engaged: listed, counts 0, no share
    client.force_login(marketer)
    assert "Acme &lt;Corp&gt;" in client.get("/leads/accounts/?q=acme").content.decode()
    page = client.get(f"/leads/accounts/{account.pk}/")
    why = page.context["why"]
    assert [(m.lead.name, m.counts, round(m.share, 3)) for m in why.members] == [
        ("Ann", True, 0.667),
        ("Cy", False, 0),
        ("Bob", True, 0.333),
    ]
    assert [m.lead.name for m in why.top_contributors] == ["Ann", "Bob"]


def test_dashboard_segment_filter_narrows_the_counts(client, marketer, spec_model):
    from leads.models import Segment

    LeadFactory(stage=4, score=120, is_cold=True)
    LeadFactory(stage=1, score=5)
    LeadFactory(stage=1, score=7, is_cold=True)
    cold = Segment.objects.create(name="Cold", filters={"cold": "1"})
    client.force_login(marketer)
    board = client.get(f"/leads/dashboard/?segment={cold.pk}").context["board"]
    assert board.lead_total == 2
    assert {c.stage: c.count for c in board.stage_counts}[4] == 1
    histogram = client.get(f"/leads/dashboard/charts/scores.json?segment={cold.pk}").json()
    assert sum(histogram["datasets"][0]["data"]) == 2
    assert client.get("/leads/dashboard/?segment=999999").status_code == 400


def test_dashboard_segment_applies_to_comparison_and_daily_chart(client, marketer, spec_model):
    from leads.models import Segment, StageChange, Tag

    hot = Tag.objects.create(name="hot")
    inside = LeadFactory(stage=4, score=120)
    inside.tags.add(hot)
    ten_days_ago = timezone.now() - timedelta(days=10)
    # Created ten days ago, as a write path would record it (appeared_at: creation, no events).
    Lead.objects.filter(pk=inside.pk).update(created_at=ten_days_ago, appeared_at=ten_days_ago)
    outside = LeadFactory.create_batch(3, stage=2, score=40)
    StageSnapshot.objects.create(day=timezone.now().date(), stage=2, count=3)  # every lead: not the segment's
    yesterday = timezone.now() - timedelta(days=1)
    StageChange.objects.create(lead=inside, from_stage=1, to_stage=4, at=yesterday, reason="event")
    segment = Segment.objects.create(name="Hot", filters={"tag": ["hot"]})
    client.force_login(marketer)
    page = client.get(f"/leads/dashboard/?segment={segment.pk}")
    board = page.context["board"]
    assert board.lead_total == 1 and outside
    # The previous 30 days ended before the lead appeared; the snapshot's 3 leads are not in it.
    assert [(c.stage, c.current, c.previous) for c in board.comparison] == [(4, 1, 0)]
    assert "rebuilt from the stage-change log" in page.content.decode()
    chart = client.get(f"/leads/dashboard/charts/stages.json?segment={segment.pk}").json()
    assert len(chart["labels"]) == 30  # every day of the default range, not just snapshot days
    today = {ds["label"]: ds["data"][-1] for ds in chart["datasets"]}
    assert today == {"Stage 1": 0, "Sales-ready (MQL)": 1}  # 2 days ago it was in stage 1
    assert [ds["data"][-3] for ds in chart["datasets"]] == [1, 0]


def test_dashboard_says_recalculating_after_a_publish(client, marketer, spec_model):
    from models_review.services import version_import
    from tests.conftest import SPEC_MODEL

    LeadFactory(stage=1)
    version_import(data={**SPEC_MODEL, "note": "v2"}, publish=True)  # queues a recalculation
    client.force_login(marketer)
    page = client.get("/leads/dashboard/").content.decode()
    assert 'id="recalculating"' in page and "every lead is being recalculated (0 of 1)" in page


def test_lead_list_page_past_the_end_says_so_and_names_the_last_page(client, marketer, spec_model):
    LeadFactory.create_batch(3)
    client.force_login(marketer)
    page = client.get("/leads/?page=999").content.decode()
    assert "showing" not in page
    assert "page 999 is past the end: the last page is" in page and "page=1" in page


def test_segment_filter_labels_show_names_not_ids(spec_model):
    from leads.workspace.segments import describe_filters

    rep = RepFactory(username="rita")
    account = AccountFactory(name="Initech")
    text = describe_filters({"owner": str(rep.pk), "account": [str(account.pk), "999999"]})
    assert text == "owner: rita; account: Initech, #999999 (deleted)"
