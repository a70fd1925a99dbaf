"""SPEC §3 numbers, checkable by hand (T=100, W=30 d, P=7 d, 10 %/tick, floor 50)."""

from datetime import UTC, datetime, timedelta

import pytest

from leads.engine import scoring
from leads.engine.scoring import DecaySettings, EventInput, ModelSpec, Rule, ScoreState

DAY0 = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
PERCENT = DecaySettings()
POINTS = DecaySettings(mode="points", amount=5)
FLOOR = 50.0


def day(n):
    return DAY0 + timedelta(days=n)


def score_at(start_score, n, decay=PERCENT):
    state = ScoreState(start_score, DAY0, DAY0)
    return scoring.advance(state, day(n), decay, FLOOR).score


@pytest.mark.parametrize(
    "n, expected",
    [
        (0, 80),
        (29, 80),
        (30, 72),
        (37, 64.8),
        (44, 58.32),
        (51, 52.488),
        (58, 50),
        (100, 50),
    ],
)
def test_decay_percent_mode_follows_the_spec_table(n, expected):
    assert score_at(80, n) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("n, expected", [(30, 75), (37, 70), (64, 55), (65, 50), (72, 50)])
def test_decay_points_mode_follows_the_spec_table(n, expected):
    assert score_at(80, n, POINTS) == pytest.approx(expected, abs=1e-9)


def test_decay_never_touches_a_score_already_at_or_below_the_floor():
    assert score_at(40, 200) == 40


def test_decay_is_the_same_applied_in_many_small_steps_or_one():
    state = ScoreState(80, DAY0, DAY0)
    for n in range(1, 101):
        state = scoring.advance(state, day(n) - timedelta(hours=5), PERCENT, FLOOR)
    assert state.score == pytest.approx(score_at(80, 100), abs=1e-9)


def _lead_with(*events, rules):
    model = ModelSpec(rules=tuple(rules))
    state = scoring.LeadState()
    for event in events:
        scoring.apply_event(state, event, model)
    return state, model


def test_new_engagement_restarts_the_inactivity_window():
    rules = [Rule("form_submit", 80), Rule("download", 10)]
    state, model = _lead_with(EventInput(day(0), "form_submit"), EventInput(day(40), "download"), rules=rules)
    assert state.sales.score == pytest.approx(74.8)
    assert scoring.advance(state.sales, day(69.9), PERCENT, FLOOR).score == pytest.approx(74.8)
    assert scoring.advance(state.sales, day(70), PERCENT, FLOOR).score == pytest.approx(67.32)


@pytest.mark.parametrize("start, expected", [(55, 45), (5, 0)])
def test_careers_page_rule_subtracts_and_clamps_at_zero(start, expected):
    rules = [Rule("manual", 0), Rule("page_view", -10, url_pattern="*/careers*")]
    state, _ = _lead_with(
        EventInput(day(0), "manual", manual_points=start),
        EventInput(day(1), "page_view", url="https://acme.example/careers/jobs"),
        rules=rules,
    )
    assert state.sales.score == expected


def test_negative_rule_may_take_a_score_below_the_floor_and_decay_leaves_it():
    rules = [Rule("page_view", -10, url_pattern="*/careers*")]
    state, _ = _lead_with(
        EventInput(day(0), "manual", manual_points=55),
        EventInput(day(1), "page_view", url="https://acme.example/careers"),
        rules=rules,
    )
    assert scoring.advance(state.sales, day(300), PERCENT, FLOOR).score == 45


@pytest.mark.parametrize(
    "score, stage",
    [
        (0, 1),
        (32, 1),
        (33, 2),
        (66.9, 2),
        (67, 3),
        (99.99, 3),
        (100, 4),
        (250, 4),
    ],
)
def test_stages_are_thirds_of_the_sales_ready_score(score, stage):
    assert scoring.stage_for_score(score, ModelSpec()) == stage


def test_video_scores_by_percent_watched_not_seconds():
    rules = [Rule("video_play", 20)]
    whole_short, _ = _lead_with(
        EventInput(day(0), "video_play", asset_key="intro-1min", percent=100), rules=rules
    )
    tenth_long, _ = _lead_with(
        EventInput(day(0), "video_play", asset_key="demo-10min", percent=10), rules=rules
    )
    assert whole_short.sales.score == 20
    assert tenth_long.sales.score == 2


def test_video_progress_awards_only_the_increase_of_the_highest_percent():
    rules = [Rule("video_play", 20)]
    state, _ = _lead_with(
        EventInput(day(0), "video_play", asset_key="demo", percent=50),
        EventInput(day(0), "video_play", asset_key="demo", percent=30),
        EventInput(day(0), "video_play", asset_key="demo", percent=75),
        EventInput(day(0), "video_play", asset_key="other", percent=10),
        rules=rules,
    )
    assert state.sales.score == pytest.approx(10 + 0 + 5 + 2)


def test_page_views_score_only_on_sales_ready_pages_unless_named():
    rules = [Rule("page_view", 5), Rule("page_view", 3, url_pattern="*/blog/*")]
    state, _ = _lead_with(
        EventInput(day(0), "page_view", url="https://x.example/about"),
        EventInput(day(0), "page_view", url="https://x.example/pricing", asset_sales_ready=True),
        EventInput(day(0), "page_view", url="https://x.example/blog/post"),
        rules=rules,
    )
    assert state.sales.score == 5 + 3


def test_the_most_specific_rule_wins_and_ties_go_to_the_first_listed():
    rules = [
        Rule("download", 1),
        Rule("download", 4, product_line="Analytics"),
        Rule("download", 6, product_line="Analytics"),
        Rule("download", 9, asset="roi-whitepaper"),
    ]
    event = EventInput(day(0), "download", asset_key="roi-whitepaper", product_line="Analytics")
    assert scoring.matching_rule(tuple(rules), event) == 3
    event = EventInput(day(0), "download", asset_key="other", product_line="Analytics")
    assert scoring.matching_rule(tuple(rules), event) == 1
    event = EventInput(day(0), "download", asset_key="other")
    assert scoring.matching_rule(tuple(rules), event) == 0


def test_custom_events_match_by_name():
    rules = [Rule("custom", 30, event_name="Trial Started")]
    state, _ = _lead_with(
        EventInput(day(0), "custom", name="Trial Started"),
        EventInput(day(0), "custom", name="Something Else"),
        rules=rules,
    )
    assert state.sales.score == 30


def test_per_day_cap_stops_inflation_and_resets_the_next_day():
    rules = [Rule("download", 10, product_line="Analytics", max_per_day=3)]
    downloads = [
        EventInput(day(0) + timedelta(minutes=i), "download", asset_key=f"d{i}", product_line="Analytics")
        for i in range(5)
    ]
    next_day = EventInput(day(1), "download", asset_key="d9", product_line="Analytics")
    state, _ = _lead_with(*downloads, next_day, rules=rules)
    assert state.sales.score == 40
    assert state.products["Analytics"].score == 40


def test_product_interest_decays_on_the_same_schedule_with_floor_zero():
    rules = [Rule("download", 40, product_line="Analytics")]
    state, model = _lead_with(EventInput(day(0), "download", product_line="Analytics"), rules=rules)
    scoring.advance_lead(state, day(100), model)
    # ticks at days 30, 37, …, 93, 100: 11 ticks of −10 %
    assert state.products["Analytics"].score == pytest.approx(40 * 0.9**11)
    assert state.sales.score == 40  # the main score is below its floor of 50


def test_decay_moves_the_stage_back_and_logs_it():
    rules = [Rule("form_submit", 100)]
    model = ModelSpec(rules=tuple(rules))
    state, outcome = scoring.replay([EventInput(day(0), "form_submit", ref=1)], model, as_of=day(31))
    assert state.stage == scoring.STAGE_3
    assert [(c.from_stage, c.to_stage, c.reason, c.at) for c in outcome.stage_changes] == [
        (1, 4, "event", day(0)),
        (4, 3, "decay", day(30)),
    ]


def test_contributions_sum_to_the_score():
    rules = [Rule("form_submit", 80), Rule("download", 10), Rule("page_view", -10, url_pattern="*/careers*")]
    events = [
        EventInput(day(0), "form_submit", ref=1),
        EventInput(day(40), "download", ref=2),
        EventInput(day(41), "page_view", url="https://x.example/careers", ref=3),
    ]
    state, outcome = scoring.replay(events, ModelSpec(rules=tuple(rules)), as_of=day(200))
    assert sum(c.delta for c in outcome.contributions) == pytest.approx(state.sales.score)
    kinds = [c.kind for c in outcome.contributions]
    assert kinds[:3] == ["event", "decay", "decay"]
    assert state.sales.score == 50


def test_tally_counts_scoring_interactions_per_stage():
    rules = [Rule("form_submit", 20)]
    events = [EventInput(day(0) + timedelta(hours=i), "form_submit") for i in range(6)]
    state, _ = _lead_with(*events, rules=rules)
    # 0 → 20 → 40 (stage 2 from 33) → 60 → 80 (stage 3 from 67) → 100 → 120
    assert state.tallies == {1: 2, 2: 2, 3: 1, 4: 1}


def test_tally_calibration_suggests_eight_points_for_5_3_4():
    assert scoring.suggested_points_per_interaction(100, [5, 3, 4]) == 8
    assert scoring.suggested_points_per_interaction(100, []) is None
