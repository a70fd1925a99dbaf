"""The engine's replay, compiled for recalculating many leads at once (§3, §7).

`scoring.replay` is written to be read: dataclasses, datetimes and a search through the
rules for every event. Over ten million events that costs half an hour. Here the same
arithmetic runs on integer microseconds since the epoch (exact, as datetime arithmetic
is), each distinct (type, name, asset key, URL) is matched against the rules once per
run, and a lead's state lives in local variables until its last event is applied.

Only score-mode models take this path: in content mode a stage depends on each event's
target stage, and those leads go through `scoring.replay`. tests/leads/test_bulk_replay.py
holds both paths to identical states on random histories."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple

from leads.engine import scoring
from leads.engine.state import memory_encode

if TYPE_CHECKING:  # the catalogue reads the database; the engine only asks it questions
    from leads.ingest.assets import AssetCatalog

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MICROSECOND = timedelta(microseconds=1)
DAY = 86_400_000_000
# A replayed event, as the recalculation query returns it: (lead id, occurred_at in µs
# since the epoch, type, name, asset_key, url, percent, manual points).
Row = tuple[int, int, str, str, str, str, "float | None", "float | None"]


def microseconds(instant: datetime) -> int:
    return (instant - EPOCH) // MICROSECOND


def instant(us: int | None) -> datetime | None:
    return None if us is None else EPOCH + timedelta(microseconds=us)


def supports(spec: scoring.ModelSpec) -> bool:
    return spec.stage_mode == "score"


class DecayArithmetic:
    """§3's decay on integer microseconds: the same float operations as `scoring.advance`."""

    def __init__(self, spec: scoring.ModelSpec):
        self.spec = spec
        self.window = spec.decay.window // MICROSECOND
        self.period = spec.decay.period // MICROSECOND
        self.floor = spec.floor

    def ticks(self, engaged: int | None, at: int | None) -> int:
        if engaged is None or at is None or at < engaged + self.window:
            return 0
        return (at - engaged - self.window) // self.period + 1

    def decayed(self, score: float, scored: int | None, engaged: int | None, to: int, floor: float) -> float:
        """`scoring.advance`'s score: the ticks in (scored, to] applied."""
        if engaged is None or score <= floor:
            return score
        first = engaged + self.window
        if to < first:
            return score
        ticks = (to - first) // self.period + 1
        if scored is not None and scored >= first:
            ticks -= (scored - first) // self.period + 1
        return scoring.decayed_score(score, ticks, self.spec.decay, floor)

    def last_tick(self, engaged: int | None, at: int) -> int | None:
        """`scoring.last_tick_at_or_before`."""
        if engaged is None or at < engaged + self.window:
            return None
        return engaged + self.window + (at - engaged - self.window) // self.period * self.period

    def last_moving_tick(
        self, score: float, scored: int | None, engaged: int | None, to: int, floor: float
    ) -> int | None:
        """The last tick in (scored, to] that changed the score, as `scoring.decay_steps` walks
        them; percent decay with no floor moves a positive score at every tick, so no walk."""
        if score <= floor or engaged is None:
            return None
        decay, done, total = self.spec.decay, self.ticks(engaged, scored), self.ticks(engaged, to)
        if decay.mode == "percent" and floor == 0:
            return self.last_tick(engaged, to) if scored is None or total > done else None
        last = None
        for k in range(done, total):
            if scoring.decayed_score(score, k + 1 - done, decay, floor) == scoring.decayed_score(
                score, k - done, decay, floor
            ):
                break  # at the floor: no later tick changes anything
            last = engaged + self.window + k * self.period
        return last


class CompiledModel(DecayArithmetic):
    """A model version and the asset catalogue, ready to replay rows."""

    def __init__(self, spec: scoring.ModelSpec, catalog: AssetCatalog):
        if not supports(spec):
            raise ValueError("Only score-mode models replay through the compiled path.")
        super().__init__(spec)
        self.catalog = catalog
        self._sales_ready = spec.sales_ready_score
        self._low, self._high = spec.stage_boundaries
        # What each distinct event shape scores: (rule index, points, cap, product line, video key).
        self._shapes: dict[tuple[str, str, str, str], tuple] = {}

    def shape(self, type_: str, name: str, asset_key: str, url: str) -> tuple:
        key = (type_, name, asset_key, url)
        found = self._shapes.get(key)
        if found is None:
            found = self._shapes[key] = self._resolve(*key)
        return found

    def _resolve(self, type_: str, name: str, asset_key: str, url: str) -> tuple:
        info = self.catalog.event_asset(type_, asset_key, url)
        event = scoring.EventInput(
            occurred_at=EPOCH,
            type=type_,
            name=name,
            url=url,
            asset_key=asset_key or None,
            asset_sales_ready=info.sales_ready,
            product_line=info.product_line,
        )
        index = scoring.matching_rule(self.spec.rules, event)
        rule = self.spec.rules[index] if index is not None else None
        video_key = (asset_key or url or name) if type_ == "video_play" else None
        return (
            index,
            float(rule.points) if rule else 0.0,
            rule.max_per_day if rule else None,
            info.product_line,
            video_key,
        )

    def stage_for(self, score: float) -> int:
        """`scoring.stage_for_score`, with the boundaries looked up once: it runs per event."""
        if score >= self._sales_ready:
            return scoring.SALES_READY
        if score >= self._high:
            return scoring.STAGE_3
        return scoring.STAGE_2 if score >= self._low else scoring.STAGE_1


class Written(NamedTuple):
    """A replayed lead as the recalculation writes it. Instants are datetimes, or ISO text
    where the streamed recalculation formats them in its producer process."""

    score: float
    scored_at: datetime | str | None  # the row's: the latest of the lead's scores'
    last_engaged_us: int | None
    last_engaged_at: datetime | str | None
    stage: int
    engine_state: dict | str  # the incremental path's memory; JSON text when formatted
    products: tuple  # (product line, score, scored_at, last_engaged_at)


def written(state: scoring.LeadState) -> Written:
    engaged = state.sales.last_engaged_at
    return Written(
        state.sales.score,
        max(
            filter(None, [state.sales.scored_at, *(p.scored_at for p in state.products.values())]),
            default=None,
        ),
        None if engaged is None else microseconds(engaged),
        engaged,
        state.stage,
        memory_encode(state.video_max_percent, state.cap_day, state.cap_counts, state.tallies),
        tuple((line, p.score, p.scored_at, p.last_engaged_at) for line, p in state.products.items()),
    )


def replay(rows: Iterable[Row], model: CompiledModel, as_of: datetime) -> scoring.LeadState:
    """One lead's state after all its rows (in time, then id order), settled as
    `state.settle(state, max(as_of, last event))` would settle it."""
    score, scored, engaged, stage, products, video, cap_day, cap_counts, tallies = _replayed(
        rows, model, as_of
    )
    return scoring.LeadState(
        sales=scoring.ScoreState(score, instant(scored), instant(engaged)),
        products={
            line: scoring.ScoreState(p[0], instant(p[1]), instant(p[2])) for line, p in products.items()
        },
        stage=stage,
        video_max_percent=video,
        cap_day=_date(cap_day),
        cap_counts=cap_counts,
        tallies=tallies,
    )


def replay_score(rows: Iterable[Row], model: CompiledModel, as_of: datetime) -> tuple[float, int]:
    """The sales-readiness score and stage `replay` settles at, without building its state."""
    score, _scored, _engaged, stage, *_ = _replayed(rows, model, as_of)
    return score, stage


def replay_formatted(rows: Iterable[Row], model: CompiledModel, as_of: datetime) -> Written:
    """`written(replay(...))` with instants as ISO text and the memory as JSON: ready for COPY."""
    score, scored, engaged, stage, products, video, cap_day, cap_counts, tallies = _replayed(
        rows, model, as_of
    )
    latest = max(filter(None, [scored, *(p[1] for p in products.values())]), default=None)
    return Written(
        score,
        _iso(latest),
        engaged,
        _iso(engaged),
        stage,
        json.dumps(memory_encode(video, _date(cap_day), cap_counts, tallies)),
        tuple((line, p[0], _iso(p[1]), _iso(p[2])) for line, p in products.items()),
    )


def _iso(us: int | None) -> str | None:
    return None if us is None else instant(us).isoformat()


def _date(day: int | None) -> date | None:
    return None if day is None else date(1970, 1, 1) + timedelta(days=day)


def _replayed(rows: Iterable[Row], model: CompiledModel, as_of: datetime) -> tuple:
    score, scored, engaged, stage = 0.0, None, None, scoring.STAGE_1
    products: dict[str, list] = {}
    video: dict[str, float] = {}
    cap_day, cap_counts, tallies = None, {}, {}
    floor, window, stage_for = model.floor, model.window, model.stage_for
    for _lead, at, type_, name, asset_key, url, percent, manual in rows:
        # Most events come within the inactivity window of the last engagement, where no tick
        # can fall: `decayed` would return the score unchanged, so it is not called.
        if engaged is not None and at >= engaged + window and (scored is None or at > scored):
            decayed = model.decayed(score, scored, engaged, at, floor)
            if decayed != score:
                score, stage = decayed, stage_for(decayed)
        for product in products.values():
            if product[1] is None or at > product[1]:
                if product[2] is not None and at >= product[2] + window:
                    product[0] = model.decayed(product[0], product[1], product[2], at, 0.0)
                product[1] = at
        if type_ == "manual":
            points, line = float(manual or 0), None
        else:
            index, points, cap, line, video_key = model.shape(type_, name, asset_key, url)
            if index is not None:
                if cap is not None:
                    day = at // DAY
                    if cap_day != day:
                        cap_day, cap_counts = day, {}
                    if cap_counts.get(index, 0) >= cap:
                        points, video_key = 0.0, None
                if video_key is not None:
                    watched = min(max(percent or 0.0, 0.0), 100.0)
                    already = video.get(video_key, 0.0)
                    if watched <= already:
                        points = 0.0
                    else:
                        video[video_key] = watched
                        points = points * (watched - already) / 100
                if cap is not None and points != 0:
                    cap_counts[index] = cap_counts.get(index, 0) + 1
        if points > 0:
            tallies[stage] = tallies.get(stage, 0) + 1
            engaged = at
        score, scored = max(0.0, score + points), at
        if line:
            product = products.setdefault(line, [0.0, at, None])
            product[0], product[1] = max(0.0, product[0] + points), at
            if points > 0:
                product[2] = at
        stage = stage_for(score)
    return _settled(
        model, as_of, score, scored, engaged, stage, products, video, cap_day, cap_counts, tallies
    )


def _settled(model, as_of, score, scored, engaged, stage, products, video, cap_day, cap_counts, tallies):
    now = max(microseconds(as_of), scored) if scored is not None else microseconds(as_of)
    last_event = scored
    if scored is None or now > scored:
        decayed = model.decayed(score, scored, engaged, now, model.floor)
        if decayed != score:
            score, stage = decayed, model.stage_for(decayed)
        scored = now
    for product in products.values():
        if product[1] is None or now > product[1]:
            product[0], product[1] = model.decayed(product[0], product[1], product[2], now, 0.0), now
    instants = [
        last_event,
        model.last_tick(engaged, now),
        *(model.last_tick(p[2], now) for p in products.values()),
    ]
    effective = max((i for i in instants if i is not None and i <= now), default=None)
    if effective is not None:
        scored = effective
        for product in products.values():
            product[1] = effective
    return score, scored, engaged, stage, products, video, cap_day, cap_counts, tallies
