"""The compiled replay (leads/compiled.py) against the engine it compiles: on random
histories, models and settle instants, every field of the settled state is identical to
`scoring.replay` followed by `engine.state.settle`."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.engine import compiled, scoring
from leads.engine.scoring import DecaySettings, EventInput, ModelSpec, Rule
from leads.engine.state import settle
from leads.ingest.assets import ASSET_KIND_BY_EVENT_TYPE, UNKNOWN, AssetInfo
from tests.leads.test_scoring_properties import RULES

START = datetime(2026, 3, 1, tzinfo=UTC)

CAPPED_VIDEO_RULES = RULES[:2] + (Rule("video_play", 40, max_per_day=2),) + RULES[3:]

ASSETS = {
    ("page", "https://x.example/pricing"): AssetInfo(sales_ready=True, product_line="Platform"),
    ("video", "a"): AssetInfo(product_line="Analytics"),
    ("document", "a"): AssetInfo(product_line="Analytics"),
    ("document", "b"): AssetInfo(product_line="Platform"),
}
# (type, name, asset_key, url) of each kind of event the histories draw from.
SHAPES = {
    "pricing": ("page_view", "", "https://x.example/pricing", "https://x.example/pricing"),
    "careers": ("page_view", "", "https://x.example/careers", "https://x.example/careers"),
    "blog": ("page_view", "", "https://x.example/blog", "https://x.example/blog"),
    "video a": ("video_play", "", "a", ""),
    "video b": ("video_play", "", "b", ""),
    "video by name": ("video_play", "Intro", "", ""),
    "download a": ("download", "", "a", ""),
    "download b": ("download", "", "b", ""),
    "form": ("form_submit", "", "contact", ""),
    "trial": ("custom", "Trial Started", "", ""),
    "other custom": ("custom", "Logged Out", "", ""),
    "email": ("email_open", "", "e-1", ""),
    "manual": ("manual", "", "", ""),
}


class Catalog:
    """The one method of AssetCatalog the engine inputs need, over ASSETS."""

    def event_asset(self, event_type, key, url):
        kind = ASSET_KIND_BY_EVENT_TYPE.get(event_type)
        return ASSETS.get((kind, key), UNKNOWN) if kind else UNKNOWN


events = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=300 * 86_400_000_000),  # µs after START: exact instants
        st.sampled_from(sorted(SHAPES)),
        st.one_of(st.none(), st.floats(min_value=-20, max_value=140, allow_nan=False)),
    ),
    max_size=40,
)

models = st.builds(
    lambda rules, mode, amount, floor, window, period, total: ModelSpec(
        rules=rules,
        sales_ready_score=total,
        decay=DecaySettings(
            inactivity_days=window, period_days=period, mode=mode, amount=amount, floor_fraction=floor
        ),
    ),
    rules=st.sampled_from([RULES, CAPPED_VIDEO_RULES]),
    mode=st.sampled_from(["percent", "points"]),
    amount=st.floats(min_value=0, max_value=60),
    floor=st.sampled_from([0.0, 0.25, 0.5]),
    window=st.sampled_from([30, 0.5, 12.25]),
    period=st.sampled_from([7, 1, 0.3]),
    total=st.sampled_from([100, 40, 1]),
)


def engine_settled(history, spec, as_of):
    inputs = []
    for offset, kind, number in history:
        type_, name, asset_key, url = SHAPES[kind]
        info = Catalog().event_asset(type_, asset_key, url)
        inputs.append(
            EventInput(
                occurred_at=START + timedelta(microseconds=offset),
                type=type_,
                name=name,
                url=url,
                asset_key=asset_key or None,
                asset_sales_ready=info.sales_ready,
                product_line=info.product_line,
                percent=number,
                manual_points=number,
            )
        )
    state, _ = scoring.replay(inputs, spec)
    settle(state, max(as_of, state.sales.scored_at or as_of), spec)
    return state


def compiled_settled(history, spec, as_of):
    rows = [
        (7, compiled.microseconds(START) + offset, *SHAPES[kind], number, number)
        for offset, kind, number in history
    ]
    return compiled.replay(rows, compiled.CompiledModel(spec, Catalog()), as_of)


@settings(max_examples=400, deadline=None)
@given(history=events, spec=models, settle_days=st.floats(min_value=-10, max_value=400))
def test_compiled_replay_equals_engine_replay_then_settle(history, spec, settle_days):
    history = sorted(history, key=lambda event: event[0])  # the query's (time, id) order
    as_of = START + timedelta(days=settle_days)
    assert compiled_settled(history, spec, as_of) == engine_settled(history, spec, as_of)


def test_a_hand_checked_history():
    """Two form submits: 25 + 25 = 50, which is the floor (50 % of T = 100), so 40 days of
    silence leave it at 50: decay never touches a score at or under the floor (§3)."""
    spec = ModelSpec(rules=RULES)
    history = [(0, "form", None), (3_600_000_000, "form", None)]
    state = compiled_settled(history, spec, START + timedelta(days=40))
    assert state.sales.score == 50
    assert state.stage == scoring.STAGE_2
    assert state.tallies == {scoring.STAGE_1: 2}


def test_decay_to_the_floor_by_hand():
    """Four form submits: 100 at 01:00. Ticks at +30 d, +37 d, +44 d: 90, 81, 72.9;
    as_of just after the third tick. Settled at that tick's instant, stage 3 (67–99)."""
    spec = ModelSpec(rules=RULES)
    hour = 3_600_000_000
    history = [(0, "form", None), (hour // 4, "form", None), (hour // 2, "form", None), (hour, "form", None)]
    as_of = START + timedelta(hours=1, days=44, minutes=5)
    state = compiled_settled(history, spec, as_of)
    assert state.sales.score == pytest.approx(72.9)
    assert state.sales.scored_at == START + timedelta(hours=1, days=44)
    assert state.stage == scoring.STAGE_3
    assert state.tallies == {scoring.STAGE_1: 2, scoring.STAGE_2: 1, scoring.STAGE_3: 1}


def test_video_progress_awards_only_the_increase():
    """20 points × 50 % = 10, then 20 × (80 − 50) % = 6, then nothing for 30 %."""
    spec = ModelSpec(rules=RULES)
    history = [(0, "video a", 50.0), (1, "video a", 80.0), (2, "video a", 30.0)]
    state = compiled_settled(history, spec, START)
    assert state.sales.score == pytest.approx(16)
    assert state.video_max_percent == {"a": 80.0}
    assert state.products["Analytics"].score == pytest.approx(16)


def test_content_mode_is_left_to_the_engine():
    assert not compiled.supports(ModelSpec(stage_mode="content"))
    with pytest.raises(ValueError):
        compiled.CompiledModel(ModelSpec(stage_mode="content"), Catalog())


@settings(max_examples=300, deadline=None)
@given(
    spec=models,
    score=st.floats(min_value=0, max_value=300),
    engaged=st.integers(0, 100 * 86_400_000_000),
    scored_after=st.integers(0, 100 * 86_400_000_000),
    to_after=st.integers(0, 200 * 86_400_000_000),
    floor=st.sampled_from([None, 0.0]),
)
def test_decay_arithmetic_equals_the_engine(spec, score, engaged, scored_after, to_after, floor):
    """Score after advancing, and the last tick that moved it (what decay dates a lead at),
    against `scoring.advance` and the ticks `scoring.decay_steps` yields."""
    floor = spec.floor if floor is None else floor
    arithmetic = compiled.DecayArithmetic(spec)
    base = compiled.microseconds(START)
    engaged_us, scored_us = base + engaged, base + engaged + scored_after
    to_us = scored_us + to_after
    state = scoring.ScoreState(score, compiled.instant(scored_us), compiled.instant(engaged_us))
    to = compiled.instant(to_us)
    assert (
        arithmetic.decayed(score, scored_us, engaged_us, to_us, floor)
        == scoring.advance(state, to, spec.decay, floor).score
    )
    steps = list(scoring.decay_steps(state, to, spec.decay, floor))
    expected = steps[-1][0] if steps else None
    moving = arithmetic.last_moving_tick(score, scored_us, engaged_us, to_us, floor)
    if spec.decay.mode == "percent" and floor == 0 and score > 0 and not steps:
        return  # a 0 % decay "moves" nothing; the decay job dates by the last tick anyway
    assert compiled.instant(moving) == expected


@settings(max_examples=150, deadline=None)
@given(history=events, spec=models, settle_days=st.floats(min_value=-10, max_value=400))
def test_the_formatted_replay_is_the_replay_as_text(history, spec, settle_days):
    """What the streamed recalculation writes (ISO instants, JSON memory) reads back as the state."""
    history = sorted(history, key=lambda event: event[0])
    as_of = START + timedelta(days=settle_days)
    rows = [
        (7, compiled.microseconds(START) + offset, *SHAPES[kind], number, number)
        for offset, kind, number in history
    ]
    model = compiled.CompiledModel(spec, Catalog())
    text, expected = (
        compiled.replay_formatted(rows, model, as_of),
        compiled.written(compiled.replay(rows, model, as_of)),
    )

    def read(iso):
        return None if iso is None else datetime.fromisoformat(iso)

    assert (
        text.score,
        read(text.scored_at),
        text.last_engaged_us,
        read(text.last_engaged_at),
        text.stage,
    ) == (
        expected.score,
        expected.scored_at,
        expected.last_engaged_us,
        expected.last_engaged_at,
        expected.stage,
    )
    assert json.loads(text.engine_state) == json.loads(json.dumps(expected.engine_state))
    assert [
        (line, score, read(scored), read(engaged)) for line, score, scored, engaged in text.products
    ] == list(expected.products)
