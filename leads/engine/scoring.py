"""The score engine of SPEC §3: plain functions over plain data.

No ORM and no clock: callers pass the instants. Every score in the product is
`replay(events, model)` advanced to some instant; the incremental path
(`apply_event` on a stored state) must agree with it to 1e-6, which the
property tests in tests/leads/test_scoring_properties.py hold it to.
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

EVENT_TYPES = (
    "page_view",
    "video_play",
    "download",
    "form_submit",
    "email_open",
    "email_click",
    "app_login",
    "webinar_attend",
    "custom",
    "nps_response",
    "manual",
)
ASSET_FLAGS = ("sales_ready",)

# Stages (§5). Integers so "further along the funnel" is a comparison.
STAGE_1, STAGE_2, STAGE_3, SALES_READY, OPPORTUNITY, CUSTOMER, DISQUALIFIED = 1, 2, 3, 4, 5, 6, 9
STAGE_LABELS = {
    STAGE_1: "Stage 1",
    STAGE_2: "Stage 2",
    STAGE_3: "Stage 3",
    SALES_READY: "Sales-ready (MQL)",
    OPPORTUNITY: "Opportunity",
    CUSTOMER: "Customer",
    DISQUALIFIED: "Disqualified",
}
SCORE_STAGES = (STAGE_1, STAGE_2, STAGE_3, SALES_READY)
SALES_OWNED_STAGES = (OPPORTUNITY, CUSTOMER, DISQUALIFIED)

# Rule specificity (§2a): naming the thing beats naming a kind of thing beats the type alone.
_EXACT_KEYS = ("url_pattern", "event_name", "asset")
_KIND_KEYS = ("asset_flag", "product_line")


@dataclass(frozen=True)
class DecaySettings:
    inactivity_days: float = 30
    period_days: float = 7
    mode: str = "percent"  # "percent" or "points"
    amount: float = 10
    floor_fraction: float = 0.5

    @cached_property  # engine hot path: computed once per frozen instance
    def window(self) -> timedelta:
        return timedelta(days=self.inactivity_days)

    @cached_property
    def period(self) -> timedelta:
        return timedelta(days=self.period_days)


@dataclass(frozen=True)
class Rule:
    event_type: str
    points: float
    url_pattern: str | None = None
    event_name: str | None = None
    asset: str | None = None
    asset_flag: str | None = None
    product_line: str | None = None
    max_per_day: int | None = None

    @cached_property
    def specificity(self) -> int:
        # Cached: matching asks for it once per rule per event, millions of times in a recalculation.
        if any(getattr(self, key) for key in _EXACT_KEYS):
            return 3
        if any(getattr(self, key) for key in _KIND_KEYS):
            return 2
        return 1

    @cached_property
    def names_a_page(self) -> bool:
        return bool(self.url_pattern or self.asset)


@dataclass(frozen=True)
class ModelSpec:
    """What the engine needs from a scoring model version (§2)."""

    rules: tuple[Rule, ...] = ()
    sales_ready_score: float = 100
    decay: DecaySettings = DecaySettings()
    stage_mode: str = "score"  # "score" or "content"
    cold_after_days: float = 30
    account_threshold: float | None = None
    engagement_days: float = 90
    account_min_engaged: int = 2

    @cached_property
    def floor(self) -> float:
        return self.sales_ready_score * self.decay.floor_fraction

    @cached_property
    def stage_boundaries(self) -> tuple[float, float]:
        return round(self.sales_ready_score / 3), round(2 * self.sales_ready_score / 3)

    @property
    def account_sales_ready_score(self) -> float:
        return self.account_threshold if self.account_threshold is not None else 2 * self.sales_ready_score


@dataclass(frozen=True)
class EventInput:
    """One stored event as the engine sees it. `ref` is opaque (the event id)."""

    occurred_at: datetime
    type: str
    name: str = ""
    url: str = ""
    asset_key: str | None = None
    asset_sales_ready: bool = False
    product_line: str | None = None
    target_stage: int | None = None
    percent: float | None = None
    manual_points: float | None = None
    ref: object = None


@dataclass
class ScoreState:
    score: float = 0.0
    scored_at: datetime | None = None
    last_engaged_at: datetime | None = None


@dataclass
class LeadState:
    """Everything the incremental path must remember between events."""

    sales: ScoreState = field(default_factory=ScoreState)
    products: dict[str, ScoreState] = field(default_factory=dict)
    stage: int = STAGE_1
    video_max_percent: dict[str, float] = field(default_factory=dict)
    cap_day: date | None = None
    cap_counts: dict[int, int] = field(default_factory=dict)
    tallies: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Contribution:
    """One line of "why this score": an event's points or a decay tick's loss."""

    at: datetime
    kind: str  # "event" or "decay"
    delta: float
    score_after: float
    ref: object = None
    rule_index: int | None = None


@dataclass(frozen=True)
class StageChange:
    at: datetime
    from_stage: int
    to_stage: int
    reason: str  # "event" or "decay"
    ref: object = None


@dataclass
class Outcome:
    """What applying events (or time) did: the trail the services persist."""

    contributions: list[Contribution] = field(default_factory=list)
    stage_changes: list[StageChange] = field(default_factory=list)
    points_by_ref: dict[object, float] = field(default_factory=dict)


# --- decay -----------------------------------------------------------------------------


def _utc(instant: datetime) -> datetime:
    # Aware datetimes sharing one zone subtract in wall-clock time, so across a DST change
    # "30 days later" would be an hour off. Decay is about elapsed time: compute in UTC.
    return instant.astimezone(UTC)


def ticks_until(last_engaged_at: datetime | None, instant: datetime | None, decay: DecaySettings) -> int:
    """How many decay ticks fall at or before `instant` (ticks at L + W + k·P, k ≥ 0)."""
    if last_engaged_at is None or instant is None:
        return 0
    instant = _utc(instant)
    first_tick = _utc(last_engaged_at) + decay.window
    if instant < first_tick:
        return 0
    return (instant - first_tick) // decay.period + 1


def tick_instant(last_engaged_at: datetime, k: int, decay: DecaySettings) -> datetime:
    return _utc(last_engaged_at) + decay.window + k * decay.period


def decayed_score(score: float, ticks: int, decay: DecaySettings, floor: float) -> float:
    """`score` after `ticks` ticks; never below the floor, never touching a score at or under it."""
    if ticks <= 0 or score <= floor:
        return score
    if decay.mode == "percent":
        value = score * (1 - decay.amount / 100) ** ticks
    else:
        value = score - decay.amount * ticks
    return max(floor, value)


def advance(state: ScoreState, to: datetime, decay: DecaySettings, floor: float) -> ScoreState:
    """The score at `to`: exactly the ticks in (scored_at, to] applied."""
    if state.scored_at is not None and to <= state.scored_at:
        return state
    ticks = ticks_until(state.last_engaged_at, to, decay) - ticks_until(
        state.last_engaged_at, state.scored_at, decay
    )
    return ScoreState(decayed_score(state.score, ticks, decay, floor), to, state.last_engaged_at)


def decay_steps(
    state: ScoreState, to: datetime, decay: DecaySettings, floor: float
) -> Iterator[tuple[datetime, float]]:
    """Each tick in (scored_at, to] that changed the score, as (instant, score after)."""
    if state.last_engaged_at is None:
        return
    done = ticks_until(state.last_engaged_at, state.scored_at, decay)
    total = ticks_until(state.last_engaged_at, to, decay)
    for k in range(done, total):
        after = decayed_score(state.score, k + 1 - done, decay, floor)
        before = decayed_score(state.score, k - done, decay, floor)
        if after == before:
            return  # at the floor: no later tick can change anything
        yield tick_instant(state.last_engaged_at, k, decay), after


def last_tick_at_or_before(state: ScoreState, instant: datetime, decay: DecaySettings) -> datetime | None:
    ticks = ticks_until(state.last_engaged_at, instant, decay)
    return tick_instant(state.last_engaged_at, ticks - 1, decay) if ticks else None


# --- stages ----------------------------------------------------------------------------


def stage_for_score(score: float, model: ModelSpec) -> int:
    low, high = model.stage_boundaries
    if score >= model.sales_ready_score:
        return SALES_READY
    if score >= high:
        return STAGE_3
    if score >= low:
        return STAGE_2
    return STAGE_1


def next_stage(current: int, score: float, model: ModelSpec, event: EventInput | None) -> int:
    """Stage after a score change. Sales-owned stages are moved by people, never by scores."""
    if current in SALES_OWNED_STAGES:
        return current
    if model.stage_mode == "score":
        return stage_for_score(score, model)
    # Content mode: stages 1–3 advance one step on content tailored to the next stage;
    # sales-ready still follows the score, and falling below T returns the lead to stage 3.
    if score >= model.sales_ready_score:
        return SALES_READY
    stage = STAGE_3 if current == SALES_READY else current
    if event is not None and event.target_stage == stage + 1 and stage + 1 <= STAGE_3:
        stage += 1
    return stage


# --- rules -----------------------------------------------------------------------------


def rule_matches(rule: Rule, event: EventInput) -> bool:
    if rule.event_type != event.type:
        return False
    if rule.url_pattern and not fnmatch.fnmatchcase(event.url.lower(), rule.url_pattern.lower()):
        return False
    if rule.event_name and rule.event_name != event.name:
        return False
    if rule.asset and rule.asset != event.asset_key:
        return False
    if rule.asset_flag == "sales_ready" and not event.asset_sales_ready:
        return False
    if rule.product_line and rule.product_line != event.product_line:
        return False
    # Page views score only on sales-ready pages unless the rule names the page (§2).
    return not (event.type == "page_view" and not rule.names_a_page and not event.asset_sales_ready)


def matching_rule(rules: tuple[Rule, ...], event: EventInput) -> int | None:
    """Index of the most specific matching rule; ties go to the first listed."""
    best_index, best_specificity = None, 0
    for index, rule in enumerate(rules):
        if rule.specificity > best_specificity and rule_matches(rule, event):
            best_index, best_specificity = index, rule.specificity
    return best_index


def event_points(state: LeadState, event: EventInput, model: ModelSpec) -> tuple[float, int | None]:
    """Points this event earns given what the lead has already done; mutates caps/video memory."""
    if event.type == "manual":
        return float(event.manual_points or 0), None
    index = matching_rule(model.rules, event)
    if index is None:
        return 0.0, None
    rule = model.rules[index]
    day = _utc(event.occurred_at).date()  # caps count per UTC day, whatever the server's zone
    if rule.max_per_day is not None:
        if state.cap_day != day:
            state.cap_day, state.cap_counts = day, {}
        if state.cap_counts.get(index, 0) >= rule.max_per_day:
            return 0.0, index
    points = float(rule.points)
    if event.type == "video_play":
        points = _video_increase(state, event, points)
    if rule.max_per_day is not None and points != 0:
        state.cap_counts[index] = state.cap_counts.get(index, 0) + 1
    return points, index


def _video_increase(state: LeadState, event: EventInput, points: float) -> float:
    """Video points follow the highest percent watched so far: only the increase is awarded."""
    percent = min(max(event.percent or 0.0, 0.0), 100.0)
    key = event.asset_key or event.url or event.name
    already = state.video_max_percent.get(key, 0.0)
    if percent <= already:
        return 0.0
    state.video_max_percent[key] = percent
    return points * (percent - already) / 100


# --- applying events ---------------------------------------------------------------------


def _apply_points(state: ScoreState, at: datetime, points: float) -> ScoreState:
    score = max(0.0, state.score + points)
    return ScoreState(score, at, at if points > 0 else state.last_engaged_at)


def advance_lead(state: LeadState, to: datetime, model: ModelSpec, outcome: Outcome | None = None) -> None:
    """Move every score of the lead to `to`; decay ticks may move the stage back (§5)."""
    previous = state.sales.score
    for at, after in decay_steps(state.sales, to, model.decay, model.floor):
        if outcome is not None:
            outcome.contributions.append(Contribution(at, "decay", after - previous, after))
        previous = after
        _restage(state, after, model, None, at, "decay", outcome)
    state.sales = advance(state.sales, to, model.decay, model.floor)
    for line, product in state.products.items():
        state.products[line] = advance(product, to, model.decay, 0.0)


def _restage(
    state: LeadState,
    score: float,
    model: ModelSpec,
    event: EventInput | None,
    at: datetime,
    reason: str,
    outcome: Outcome | None,
) -> None:
    stage = next_stage(state.stage, score, model, event)
    if stage != state.stage:
        if outcome is not None:
            outcome.stage_changes.append(
                StageChange(at, state.stage, stage, reason, event.ref if event else None)
            )
        state.stage = stage


def apply_event(
    state: LeadState, event: EventInput, model: ModelSpec, outcome: Outcome | None = None
) -> float:
    """The incremental path of §3: advance decay to the event, add its points, restage."""
    advance_lead(state, event.occurred_at, model, outcome)
    stage_before, score_before = state.stage, state.sales.score
    points, rule_index = event_points(state, event, model)
    state.sales = _apply_points(state.sales, event.occurred_at, points)
    if event.product_line and event.type != "manual":
        product = advance(
            state.products.get(event.product_line, ScoreState()), event.occurred_at, model.decay, 0.0
        )
        state.products[event.product_line] = _apply_points(product, event.occurred_at, points)
    if points > 0:
        state.tallies[stage_before] = state.tallies.get(stage_before, 0) + 1
    if outcome is not None:
        # The delta is the real change, so clamping at 0 shows and the trail sums to the score.
        outcome.contributions.append(
            Contribution(
                event.occurred_at,
                "event",
                state.sales.score - score_before,
                state.sales.score,
                event.ref,
                rule_index,
            )
        )
        outcome.points_by_ref[event.ref] = points
    _restage(state, state.sales.score, model, event, event.occurred_at, "event", outcome)
    return points


def replay(
    events: Iterable[EventInput], model: ModelSpec, as_of: datetime | None = None
) -> tuple[LeadState, Outcome]:
    """Recompute a lead from all its events (sorted by the caller: time, then id)."""
    state, outcome = LeadState(), Outcome()
    for event in events:
        apply_event(state, event, model, outcome)
    if as_of is not None:
        advance_lead(state, as_of, model, outcome)
    return state, outcome


def explain(events: Iterable[EventInput], model: ModelSpec, as_of: datetime) -> list[Contribution]:
    """Every contribution (event → points, decay tick → −x) that sums to the score at `as_of`."""
    return replay(events, model, as_of)[1].contributions


def points_in_window(contributions: Iterable[Contribution], since: datetime) -> float:
    """Engagement over a period (§4): positive points earned since an instant."""
    return sum(
        line.delta for line in contributions if line.kind == "event" and line.at >= since and line.delta > 0
    )


def suggested_points_per_interaction(
    sales_ready_score: float, average_interactions: Iterable[float]
) -> int | None:
    """Tally calibration (§4): T / sum of the average interactions per stage, rounded."""
    total = sum(average_interactions)
    if total <= 0:
        return None
    return round(sales_ready_score / total)


def is_close(a: float, b: float, tolerance: float = 1e-6) -> bool:
    return math.isclose(a, b, abs_tol=tolerance)


def with_rules(model: ModelSpec, rules: Iterable[Rule]) -> ModelSpec:
    return replace(model, rules=tuple(rules))
