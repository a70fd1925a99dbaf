"""Decay counts elapsed time, not wall-clock time: the same numbers across daylight-saving
changes (2026-03-08 in the US, 2026-10-25 in the EU) as in UTC."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from leads.engine import scoring
from leads.engine.scoring import DecaySettings, EventInput, ModelSpec, Rule, ScoreState

RULES = (Rule("form_submit", 80),)


@pytest.mark.parametrize(
    "zone, engaged_local",
    [
        ("America/New_York", datetime(2026, 2, 20, 9, 0)),  # 30 days later crosses 2026-03-08
        ("Europe/Copenhagen", datetime(2026, 10, 10, 9, 0)),  # crosses 2026-10-25
        ("Europe/Riga", datetime(2026, 10, 1, 23, 30)),
    ],
)
def test_decay_across_dst_matches_utc(zone, engaged_local):
    tz = ZoneInfo(zone)
    engaged = engaged_local.replace(tzinfo=tz)
    engaged_utc = engaged.astimezone(UTC)
    decay, floor = DecaySettings(), 50.0
    for hours in range(30 * 24 - 3, 45 * 24, 1):
        local = ScoreState(80, engaged, engaged)
        utc = ScoreState(80, engaged_utc, engaged_utc)
        later_utc = engaged_utc + timedelta(hours=hours)
        later_local = later_utc.astimezone(tz)  # the same instant, read off a local clock
        assert (
            scoring.advance(local, later_local, decay, floor).score
            == scoring.advance(utc, later_utc, decay, floor).score
        )


def test_first_tick_is_exactly_thirty_elapsed_days_even_when_clocks_change():
    tz = ZoneInfo("America/New_York")
    engaged = datetime(2026, 2, 20, 9, 0, tzinfo=tz)
    state = ScoreState(80, engaged, engaged)
    first_tick_utc = engaged.astimezone(UTC) + timedelta(days=30)
    just_before = (first_tick_utc - timedelta(seconds=1)).astimezone(tz)
    assert scoring.advance(state, just_before, DecaySettings(), 50).score == 80
    assert scoring.advance(state, first_tick_utc.astimezone(tz), DecaySettings(), 50).score == 72
    # The wall clock reads 10:00, not 09:00: the clocks sprang forward on 2026-03-08.
    assert first_tick_utc.astimezone(tz).hour == 10


def test_daily_caps_count_per_utc_day_in_any_zone():
    tz = ZoneInfo("Europe/Copenhagen")
    model = ModelSpec(rules=(Rule("download", 10, max_per_day=2),))
    # 00:30 and 01:30 Copenhagen on 2026-10-26 are 23:30 and 00:30 UTC: two different UTC days.
    events = [
        EventInput(datetime(2026, 10, 26, h, 30, tzinfo=tz), "download", asset_key=f"d{h}")
        for h in (0, 0, 1, 1)
    ]
    state, _ = scoring.replay(events, model)
    assert state.sales.score == 40
