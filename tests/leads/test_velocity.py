"""Stage dashboard figures (§5) on a stage-change log small enough to check by hand."""

from datetime import date, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from leads.models import Event, StageChange, StageSnapshot
from leads.workspace import selectors
from leads.workspace.selectors import DateRange
from tests.conftest import day
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

PERIOD = DateRange(date(2026, 1, 1), date(2026, 1, 21))


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def _change(lead, from_stage, to_stage, at, event_type=None, campaign="", reason="event"):
    event = None
    if event_type:
        event = Event.objects.create(lead=lead, type=event_type, occurred_at=at, campaign=campaign)
    return StageChange.objects.create(
        lead=lead,
        from_stage=from_stage,
        to_stage=to_stage,
        at=at,
        reason=reason,
        event=event,
        campaign=campaign,
    )


@pytest.fixture
def funnel(spec_model):
    """A: 1→2 (day 0) → 3 (day 4) → sales-ready (day 10).  B: 1→2 (day 2), decays back (day 8).
    C: 1→2 (day 1), still there. D, E, F sit in stage 2 and G in stage 3 with no logged change."""
    a, b, c = LeadFactory(stage=4), LeadFactory(stage=1), LeadFactory(stage=2)
    LeadFactory.create_batch(3, stage=2)
    LeadFactory(stage=3)
    _change(a, 1, 2, day(0), "form_submit", "spring")
    _change(a, 2, 3, day(4), "video_play", "spring")
    _change(a, 3, 4, day(10), "custom", "trial")
    _change(b, 1, 2, day(2), "page_view")
    _change(b, 2, 1, day(8), reason="decay")
    _change(c, 1, 2, day(1), "page_view", "newsletter")
    return a, b, c


def test_velocity_time_in_stage_conversion_and_forecast(funnel):
    velocity = {v.stage: v for v in selectors.stage_velocity(period=PERIOD)}
    stage_2 = velocity[2]
    assert (stage_2.now, stage_2.entered, stage_2.left, stage_2.moved_forward) == (4, 3, 2, 1)
    assert stage_2.average_days == pytest.approx(5.0)  # A stayed 4 days, B 6 days; C is still there
    assert stage_2.median_days == pytest.approx(5.0)
    assert stage_2.conversion == pytest.approx(1 / 3)
    assert stage_2.forecast == 1  # 4 leads now × 1 of 3 stays moved forward within 30 days
    stage_3 = velocity[3]
    assert (stage_3.entered, stage_3.moved_forward, stage_3.average_days, stage_3.forecast) == (
        1,
        1,
        pytest.approx(6.0),
        1,
    )
    # B is back in stage 1 and has not left: no time in stage yet, and no conversion so far.
    assert velocity[1].entered == 1 and velocity[1].average_days is None and velocity[1].conversion == 0.0


def test_velocity_ignores_stays_that_started_before_the_period(funnel):
    later = DateRange(date(2026, 1, 4), date(2026, 1, 21))
    velocity = {v.stage: v for v in selectors.stage_velocity(period=later)}
    assert velocity[2].entered == 0
    assert velocity[3].entered == 1 and velocity[3].average_days == pytest.approx(6.0)


def test_velocity_restricted_to_a_segment(funnel):
    a, _, _ = funnel
    velocity = {
        v.stage: v for v in selectors.stage_velocity(period=PERIOD, leads=type(a).objects.filter(pk=a.pk))
    }
    assert velocity[2].entered == 1 and velocity[2].conversion == 1.0
    assert velocity[2].now == 0


def test_top_actions_and_campaigns_in_and_out_of_each_stage(funnel):
    movers = {m.stage: m for m in selectors.stage_movers(period=PERIOD)}
    assert [(m.what, m.count) for m in movers[2].actions_in] == [("Page view", 2), ("Form submit", 1)]
    assert [(m.what, m.count) for m in movers[2].actions_out] == [("Decay", 1), ("Video play", 1)]
    assert [(m.what, m.count) for m in movers[2].campaigns_in] == [("newsletter", 1), ("spring", 1)]
    assert [(m.what, m.count) for m in movers[4].campaigns_in] == [("trial", 1)]


def test_snapshot_series_and_period_over_period():
    for offset, counts in ((0, (10, 5)), (1, (12, 6)), (-5, (8, 2))):
        for stage, count in zip((1, 2), counts):
            StageSnapshot.objects.create(day=date(2026, 1, 20 + offset), stage=stage, count=count)
    labels, series = selectors.snapshot_series(period=DateRange(date(2026, 1, 11), date(2026, 1, 21)))
    assert labels == ["2026-01-15", "2026-01-20", "2026-01-21"]
    assert series == {1: [8, 10, 12], 2: [2, 5, 6]}
    comparison = selectors.period_comparison(period=DateRange(date(2026, 1, 18), date(2026, 1, 21)))
    # Last snapshot of 18–21 Jan is the 21st; of the 4 days before (14–17 Jan) the 15th.
    assert [(c.stage, c.current, c.previous, c.change) for c in comparison] == [(1, 12, 8, 4), (2, 6, 2, 4)]
    assert comparison[0].change_percent == pytest.approx(50.0)


def test_period_comparison_ending_today_uses_the_live_counts_of_the_cards(spec_model):
    today = timezone.localdate()
    StageSnapshot.objects.create(day=today, stage=1, count=9)  # taken earlier today; leads moved since
    StageSnapshot.objects.create(day=today - timedelta(days=7), stage=1, count=4)
    for stage in (1, 1, 4):
        LeadFactory(stage=stage)
    comparison = selectors.period_comparison(period=DateRange(today - timedelta(days=6), today))
    assert [(c.stage, c.current, c.previous) for c in comparison] == [(1, 2, 4), (4, 1, None)]


def test_score_histogram_bands_of_ten_with_an_open_top(spec_model):
    for score in (5, 15, 19.9, 160, 151):
        LeadFactory(score=score)
    labels, counts = selectors.score_histogram()
    assert labels[0] == "0–9" and labels[-1] == "150+" and len(labels) == 16
    assert counts[0] == 1 and counts[1] == 2 and counts[-1] == 2 and sum(counts) == 5


def test_stage_dashboard_percentages_held_for_a_minute(funnel):
    board = selectors.stage_dashboard(period=PERIOD)
    by_stage = {c.stage: c for c in board.stage_counts}
    assert board.lead_total == 7 and by_stage[2].count == 4
    assert by_stage[2].percent == pytest.approx(400 / 7)
    LeadFactory(stage=2)
    assert selectors.stage_dashboard(period=PERIOD).lead_total == 7  # served from the one-minute cache
    cache.clear()
    assert selectors.stage_dashboard(period=PERIOD).lead_total == 8


def test_dashboard_warm_up_refreshes_the_cached_default_view(spec_model):
    LeadFactory(score=10)
    selectors.dashboard_warm()
    period = selectors.default_dashboard_period()
    assert selectors.stage_dashboard(period=period).lead_total == 1
    LeadFactory(score=120, stage=4)
    assert selectors.stage_dashboard(period=period).lead_total == 1  # still the cached figures
    selectors.dashboard_warm()
    assert selectors.stage_dashboard(period=period).lead_total == 2


def test_stage_counts_by_day_for_a_segment_walks_back_from_todays_counts(funnel):
    a, b, _ = funnel
    members = type(a).objects.filter(pk__in=[a.pk, b.pk])
    by_day = selectors.stage_counts_by_day(since=date(2026, 1, 1), until=date(2026, 1, 11), leads=members)
    nonzero = {d.day: {s: n for s, n in counts.items() if n} for d, counts in by_day.items()}
    assert nonzero[1] == {2: 1}  # A moved 1→2 on day 0; B appears on day 2
    assert nonzero[3] == {2: 2}
    assert nonzero[5] == {2: 1, 3: 1}  # A entered 3 on day 4
    assert nonzero[9] == {1: 1, 3: 1}  # B decayed back to 1 on day 8
    assert nonzero[11] == {1: 1, 4: 1}  # A sales-ready on day 10: today's counts
    assert len(by_day) == 11


def test_period_comparison_for_a_segment_counts_only_its_members(funnel):
    a, b, _ = funnel
    members = type(a).objects.filter(pk__in=[a.pk, b.pk])
    comparison = selectors.period_comparison(
        period=DateRange(date(2026, 1, 7), date(2026, 1, 11)), leads=members
    )
    # End of 7–11 Jan: A sales-ready, B stage 1. End of 2–6 Jan: A stage 3, B stage 2.
    assert [(c.stage, c.current, c.previous) for c in comparison] == [
        (1, 1, 0),
        (2, 0, 1),
        (3, 0, 1),
        (4, 1, 0),
    ]


def test_stage_dashboard_not_served_stale_after_a_publish(funnel):
    from models_review.models import RecalculationRun
    from models_review.recalculation import recalculation_execute
    from models_review.services import version_import
    from tests.conftest import SPEC_MODEL

    assert selectors.stage_dashboard(period=PERIOD).lead_total == 7
    LeadFactory(stage=2)
    assert selectors.stage_dashboard(period=PERIOD).lead_total == 7  # cached for the minute
    version_import(data={**SPEC_MODEL, "note": "v2"}, publish=True)
    run = RecalculationRun.objects.get()
    assert selectors.figures_state()[1] == run  # queued: pages say "recalculating"
    assert selectors.stage_dashboard(period=PERIOD).lead_total == 8  # a new version: a new entry
    recalculation_execute(run_id=run.pk)
    assert selectors.figures_state()[1] is None
