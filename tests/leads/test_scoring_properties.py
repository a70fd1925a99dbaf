"""The replay invariant of SPEC §3, on random histories: late events, negative rules,
caps, video progress, and decay materialised at random instants in between."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from leads.engine import scoring
from leads.engine.scoring import DecaySettings, EventInput, LeadState, ModelSpec, Rule

EPOCH = datetime(2026, 1, 1, tzinfo=UTC)

RULES = (
    Rule("page_view", 5, asset_flag="sales_ready"),
    Rule("page_view", -10, url_pattern="*/careers*"),
    Rule("video_play", 20),
    Rule("download", 10, product_line="Analytics", max_per_day=3),
    Rule("form_submit", 25),
    Rule("custom", 30, event_name="Trial Started"),
)

event_strategy = st.builds(
    lambda hours, kind, percent, asset: _event(hours, kind, percent, asset),
    hours=st.floats(min_value=0, max_value=24 * 200, allow_nan=False),
    kind=st.sampled_from(["pricing", "careers", "video", "download", "form", "trial", "manual"]),
    percent=st.floats(min_value=0, max_value=100, allow_nan=False),
    asset=st.sampled_from(["a", "b"]),
)


def _event(hours, kind, percent, asset):
    at = EPOCH + timedelta(hours=hours)
    return {
        "pricing": EventInput(at, "page_view", url="https://x.example/pricing", asset_sales_ready=True),
        "careers": EventInput(at, "page_view", url="https://x.example/careers"),
        "video": EventInput(at, "video_play", asset_key=asset, percent=percent),
        "download": EventInput(at, "download", asset_key=asset, product_line="Analytics"),
        "form": EventInput(at, "form_submit"),
        "trial": EventInput(at, "custom", name="Trial Started"),
        "manual": EventInput(at, "manual", manual_points=round(percent - 50)),
    }[kind]


models = st.builds(
    lambda mode, amount, floor: ModelSpec(
        rules=RULES, decay=DecaySettings(mode=mode, amount=amount, floor_fraction=floor)
    ),
    mode=st.sampled_from(["percent", "points"]),
    amount=st.floats(min_value=1, max_value=30),
    floor=st.sampled_from([0.0, 0.25, 0.5]),
)


def incremental(arrivals, decay_runs, model):
    """What the services do: ingest in arrival order, replay on a late event,
    and materialise decay at the given instants in between."""
    state, stored = LeadState(), []
    for position, event in enumerate(arrivals):
        for run_at in decay_runs.get(position, []):
            scoring.advance_lead(state, max(run_at, state.sales.scored_at or run_at), model)
        stored.append((event.occurred_at, position, event))
        if state.sales.scored_at is not None and event.occurred_at < state.sales.scored_at:
            state, _ = scoring.replay([e for _, _, e in sorted(stored, key=lambda x: x[:2])], model)
        else:
            scoring.apply_event(state, event, model)
    return state, stored


@settings(max_examples=300, deadline=None)
@given(
    arrivals=st.lists(event_strategy, min_size=1, max_size=40),
    decay_hours=st.lists(st.tuples(st.integers(0, 40), st.floats(0, 24 * 260)), max_size=10),
    model=models,
)
def test_incremental_path_equals_replay(arrivals, decay_hours, model):
    decay_runs = {}
    for position, hours in decay_hours:
        decay_runs.setdefault(position, []).append(EPOCH + timedelta(hours=hours))
    state, stored = incremental(arrivals, decay_runs, model)
    as_of = EPOCH + timedelta(days=400)
    scoring.advance_lead(state, as_of, model)
    replayed, outcome = scoring.replay([e for _, _, e in sorted(stored, key=lambda x: x[:2])], model, as_of)
    assert abs(state.sales.score - replayed.sales.score) <= 1e-6
    assert abs(sum(line.delta for line in outcome.contributions) - replayed.sales.score) <= 1e-6
    for line, product in replayed.products.items():
        assert abs(state.products[line].score - product.score) <= 1e-6
    assert state.stage == replayed.stage


@settings(max_examples=200, deadline=None)
@given(score=st.floats(0, 1000), days=st.floats(0, 400), model=models)
def test_decay_never_crosses_the_floor_and_never_raises(score, days, model):
    state = scoring.ScoreState(score, EPOCH, EPOCH)
    later = scoring.advance(state, EPOCH + timedelta(days=days), model.decay, model.floor).score
    assert later <= score
    assert later >= min(score, model.floor)
