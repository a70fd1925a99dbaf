"""The lead page with a long history: "why this score" summed per rule, the chart downsampled."""

import math
from datetime import timedelta

import pytest
from django.core.cache import cache

from leads.engine import scoring
from leads.ingest.events import NewEvent, events_ingest
from leads.models import Event
from leads.services import active_version, lead_replay, spec_for
from leads.workspace import selectors
from leads.workspace.selectors import ContributionLine, contributions_summarise, series_downsample
from tests.conftest import day
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def _line(n: int, delta: float, rule: str, score_after: float) -> ContributionLine:
    return ContributionLine(
        day(n), "event" if rule != "Decay tick" else "decay", delta, score_after, None, rule
    )


def test_contributions_summarise_sums_older_lines_per_rule_and_lists_the_newest():
    lines = [
        _line(0, 25, "form_submit (25)", 25),
        _line(1, 25, "form_submit (25)", 50),
        _line(2, 10, "video_play (20)", 60),
        _line(40, -1, "Decay tick", 59),
        _line(41, 25, "form_submit (25)", 84),
        _line(42, -10, "page_view · */careers* (-10)", 74),
    ]
    summary = contributions_summarise(lines, listed=2)
    assert [line.delta for line in summary.recent] == [25, -10]
    earlier = {group.rule: (group.count, group.delta) for group in summary.earlier}
    assert earlier == {"form_submit (25)": (2, 50), "video_play (20)": (1, 10), "Decay tick": (1, -1)}
    assert summary.earlier_count == 4
    # 50 + 10 − 1 summed, then 25 − 10 listed: 74, the last line's score.
    assert summary.total == 74
    assert [group.rule for group in summary.earlier][0] == "form_submit (25)"  # largest first


def test_contributions_summarise_lists_everything_when_short():
    lines = [_line(0, 25, "form_submit (25)", 25)]
    summary = contributions_summarise(lines, listed=50)
    assert summary.earlier == [] and summary.recent == lines and summary.total == 25


def test_lead_page_sums_older_lines_and_its_total_equals_the_score(client, marketer, spec_model, monkeypatch):
    monkeypatch.setattr("leads.workspace.selectors.CONTRIBUTIONS_LISTED", 2)
    lead = LeadFactory()
    events_ingest(
        events=[
            NewEvent(type="form_submit", occurred_at=day(0), lead_id=lead.pk),
            NewEvent(type="form_submit", occurred_at=day(1), lead_id=lead.pk),
            NewEvent(type="page_view", occurred_at=day(2), lead_id=lead.pk, url="https://x.example/careers/"),
            NewEvent(type="video_play", occurred_at=day(3), lead_id=lead.pk, properties={"percent": 50}),
        ],
        now=day(3),
    )
    client.force_login(marketer)
    response = client.get(f"/leads/{lead.pk}/")
    html = response.content.decode()
    # 25 + 25 − 10 + 10 = 50, at the decay floor (50) so no tick takes anything later.
    assert response.context["score_now"] == pytest.approx(50.0)
    assert response.context["contribution_total"] == pytest.approx(50.0)
    assert 'id="contribution-total">50.00<' in html
    start = html.index('id="contributions-earlier"')
    earlier = html[start : html.index("</tbody>", start)]
    assert "2 lines summed per rule" in earlier and "2 ×" in earlier and ">50.00<" in earlier
    assert html.count('class="event"') == 2  # the careers page and the video, one row each


def _long_history(lead, cycles: int, per_cycle: int) -> None:
    """Each cycle: five form submits (+125 in all) then careers page views (−10 each, down to 0),
    one an hour, so the score climbs through every stage and falls back, ten times."""
    events, at = [], day(0)
    for _ in range(cycles):
        for i in range(per_cycle):
            if i < 5:
                events.append(Event(lead=lead, type="form_submit", occurred_at=at))
            else:
                events.append(
                    Event(lead=lead, type="page_view", occurred_at=at, url="https://x.example/careers/")
                )
            at += timedelta(hours=1)
    Event.objects.bulk_create(events, batch_size=1000)
    lead_replay(lead=lead)


def test_lead_page_with_5000_events_answers_with_a_bounded_table_summing_to_the_score(
    client, marketer, spec_model
):
    lead = LeadFactory()
    _long_history(lead, cycles=10, per_cycle=500)
    client.force_login(marketer)
    response = client.get(f"/leads/{lead.pk}/")
    assert response.status_code == 200
    summary = response.context["contributions"]
    assert len(summary.recent) == selectors.CONTRIBUTIONS_LISTED
    assert summary.earlier_count + len(summary.recent) == 5000
    listed_and_summed = math.fsum(
        [group.delta for group in summary.earlier] + [line.delta for line in summary.recent]
    )
    # The last cycle ends at 0 (careers views clamp there), below the floor: nothing decays.
    assert listed_and_summed == pytest.approx(response.context["score_now"], abs=1e-9)
    assert response.context["score_now"] == pytest.approx(0.0)
    assert not response.context["score_pending"]
    html = response.content.decode()
    assert html.count('class="event"') + html.count('class="decay"') == selectors.CONTRIBUTIONS_LISTED
    assert html.count('class="rule-total"') == 2  # the form-submit rule and the careers rule


def _crossings(points, spec) -> set[tuple[str, float]]:
    stages = [scoring.stage_for_score(score, spec) for _, score in points]
    kept = set()
    for i in range(1, len(points)):
        if stages[i] != stages[i - 1]:
            kept.update((points[i - 1], points[i]))
    return kept


def test_lead_chart_with_5000_events_keeps_at_most_the_cap_and_every_crossing(client, marketer, spec_model):
    lead = LeadFactory()
    _long_history(lead, cycles=10, per_cycle=500)
    client.force_login(marketer)
    data = client.get(f"/leads/{lead.pk}/chart.json").json()
    assert len(data["datasets"][0]["data"]) <= selectors.SCORE_CHART_POINTS
    assert len(data["labels"]) == len(data["datasets"][0]["data"])

    lines, score_now = selectors.lead_contributions(lead=lead)
    full = [(line.at.isoformat(), round(line.score_after, 2)) for line in lines]
    sampled = selectors.lead_score_series(lead=lead)
    spec = spec_for(active_version())
    crossings = _crossings(full, spec)
    # 0 → 125 crosses 33, 67 and 100 going up, and again coming down: six per cycle, both sides kept.
    assert len(crossings) >= 10 * 6
    assert crossings <= set(sampled)
    assert max(score for _, score in sampled) == 125 and min(score for _, score in sampled) == 0
    assert sampled[0] == full[0]


def _stage_of(score: float) -> int:
    return 0 if score < 50 else 1


def test_series_downsample_keeps_short_series_unchanged():
    points = [(str(i), float(i)) for i in range(10)]
    assert series_downsample(points, cap=10, stage_of=_stage_of) == points


def test_series_downsample_keeps_ends_extremes_and_both_sides_of_a_crossing():
    # 0, 1, …, 99 up, one spike to 500 at index 30, crossing 50 between indices 49 and 50.
    scores = [float(i) for i in range(100)]
    scores[30] = 500.0
    points = [(f"t{i}", score) for i, score in enumerate(scores)]
    sampled = series_downsample(points, cap=10, stage_of=_stage_of)
    assert len(sampled) <= 10
    kept = {label for label, _ in sampled}
    assert {"t0", "t99", "t30", "t49", "t50"} <= kept
    assert [label for label, _ in sampled] == sorted(kept, key=lambda label: int(label[1:]))


def test_series_downsample_with_more_crossings_than_the_cap_keeps_the_cap():
    points = [(f"t{i}", 0.0 if i % 2 else 100.0) for i in range(1000)]
    sampled = series_downsample(points, cap=20, stage_of=_stage_of)
    assert len(sampled) == 20
    assert sampled[0] == points[0] and sampled[-1] == points[-1]


def _form_submits(lead, *days):
    events_ingest(events=[NewEvent(type="form_submit", occurred_at=day(n), lead_id=lead.pk) for n in days])


def test_replayed_history_is_reused_until_the_lead_gets_a_new_event(spec_model, monkeypatch):
    monkeypatch.setattr(selectors, "HISTORY_CACHE_MIN_EVENTS", 2)
    monkeypatch.setattr(selectors, "_history_cache", type(selectors._history_cache)())
    lead = LeadFactory()
    _form_submits(lead, 0, 1, 2)
    lines, score = selectors.lead_contributions(lead=lead, as_of=day(3))
    assert [line.delta for line in lines] == [25, 25, 25] and score == 75
    replays, replay = [], selectors._history_replay
    monkeypatch.setattr(selectors, "_history_replay", lambda *args: replays.append(args) or replay(*args))
    again, _ = selectors.lead_contributions(lead=lead, as_of=day(3))
    assert again == lines and replays == []  # served from the cache: no replay
    _form_submits(lead, 2.5)
    lines, score = selectors.lead_contributions(lead=lead, as_of=day(3))
    assert len(replays) == 1 and score == 100 and len(lines) == 4


def test_cached_history_gives_the_full_replays_decay_up_to_now(spec_model, monkeypatch):
    """Decay after the last event is worked out per request: 75 points on day 2, then 30 days
    without engagement and 10 % a week: day 32 → 67.5, day 39 → 60.75."""
    monkeypatch.setattr(selectors, "HISTORY_CACHE_MIN_EVENTS", 2)
    monkeypatch.setattr(selectors, "_history_cache", type(selectors._history_cache)())
    lead = LeadFactory()
    _form_submits(lead, 0, 1, 2)
    selectors.lead_contributions(lead=lead, as_of=day(3))  # fills the cache
    lines, score = selectors.lead_contributions(lead=lead, as_of=day(40))
    assert [round(line.score_after, 2) for line in lines] == [25, 50, 75, 67.5, 60.75]
    assert [line.rule for line in lines[3:]] == ["Decay tick", "Decay tick"]
    assert score == pytest.approx(60.75)
    assert math.fsum(line.delta for line in lines) == pytest.approx(score)
