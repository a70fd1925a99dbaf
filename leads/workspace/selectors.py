"""Reads that are more than one filter()."""

from __future__ import annotations

import copy
import math
import statistics
import threading
from collections import OrderedDict, defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.apps import apps
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Avg, Count, Exists, F, FloatField, Max, OuterRef, Q
from django.db.models.expressions import RawSQL
from django.db.models.functions import Floor, TruncDate
from django.utils import timezone

from leads.background.recalculation import EVENT_COLUMNS, EventRow
from leads.db.processes import collector_paused
from leads.engine import accounts as accounts_engine
from leads.engine import scoring
from leads.ingest.assets import AssetCatalog
from leads.models import Account, BuyingRole, Event, EventType, Lead, Stage, StageChange, StageSnapshot
from leads.roles import visible_leads
from leads.services import active_version, engine_inputs, lead_events, spec_for
from leads.workspace.filters import segment_members


@dataclass(frozen=True)
class StageCount:
    stage: int
    label: str
    count: int
    percent: float


def stage_counts(*, leads=None) -> list[StageCount]:
    leads = Lead.objects.all() if leads is None else leads
    counts = dict(leads.values_list("stage").annotate(n=Count("id")).order_by())
    total = sum(counts.values())
    return [
        StageCount(
            stage.value,
            stage.label,
            counts.get(stage.value, 0),
            100.0 * counts.get(stage.value, 0) / total if total else 0.0,
        )
        for stage in Stage
    ]


def top_leads(*, user, limit: int = 10):
    return visible_leads(user, Lead.objects.select_related("account", "owner")).order_by("-score", "id")[
        :limit
    ]


def recent_events(*, user, limit: int = 15):
    lead_ids = visible_leads(user, Lead.objects.all()).values("id")
    return (
        Event.objects.filter(lead__in=lead_ids)
        .select_related("lead")
        .defer("properties")  # not shown; the list needs only what happened, when
        .order_by("-occurred_at", "-id")[:limit]
    )


@dataclass(frozen=True)
class ContributionLine:
    at: datetime
    kind: str
    delta: float
    score_after: float
    event: ListedEvent | None
    rule: str


def lead_contributions(*, lead: Lead, as_of: datetime | None = None) -> tuple[list[ContributionLine], float]:
    """ "Why this score": every event's points and decay tick under the active version (§3)."""
    as_of = as_of or timezone.now()
    spec = spec_for(active_version())
    history = _replayed_history(lead, spec)
    # A replay to `as_of` is the replay of the events, then decay from the last one to `as_of`:
    # the events' part is shared (cached), the decay after them is worked out per request.
    state, tail = copy.deepcopy(history.state), scoring.Outcome()
    scoring.advance_lead(state, max(as_of, lead.scored_at or as_of), spec, tail)
    decay_lines = [
        ContributionLine(c.at, c.kind, c.delta, c.score_after, None, _rule_label(spec, c.rule_index, None))
        for c in tail.contributions
    ]
    return [*history.lines, *decay_lines], state.sales.score


@dataclass(frozen=True)
class ReplayedHistory:
    state: scoring.LeadState  # after the last event, before decay up to now
    lines: tuple[ContributionLine, ...]


# A lead with thousands of events costs a replay of a few hundred milliseconds, paid by its
# page and again by its chart. Its events only ever grow, so (count, last id) tells whether
# a replay done earlier still holds. Kept per process and bounded by events held, so a few
# giant histories cannot take the worker's memory; small histories replay in milliseconds.
HISTORY_CACHE_MIN_EVENTS = 1000
HISTORY_CACHE_MAX_EVENTS = 50_000
_history_cache: OrderedDict[tuple, tuple[int, ReplayedHistory]] = OrderedDict()
_history_lock = threading.Lock()


def _replayed_history(lead: Lead, spec: scoring.ModelSpec) -> ReplayedHistory:
    catalog = AssetCatalog.load()
    held = Event.objects.filter(lead=lead).aggregate(n=Count("id"), last=Max("id"))
    # The spec is compared by value; the catalogue by identity: it is replaced, never changed,
    # when an asset changes, and the key holds it, so its id cannot be reused.
    # The creation instant guards against a reused primary key (a restored database).
    key = (lead.pk, lead.created_at, held["n"], held["last"], spec, catalog)
    with _history_lock:
        entry = _history_cache.get(key)
        if entry is not None:
            _history_cache.move_to_end(key)
            return entry[1]
    history = _history_replay(lead, spec, catalog)
    if held["n"] >= HISTORY_CACHE_MIN_EVENTS:
        _history_remember(key, held["n"], history)
    return history


class ListedEvent(EventRow):
    """An event as the replay, the lead page and the API read it. A model instance per event
    was a third of a 5,000-event lead page's first view."""

    __slots__ = ("campaign", "source")
    COLUMNS = (*EVENT_COLUMNS[1:], "campaign", "source")

    def __init__(self, pk, type, name, url, asset_key, occurred_at, properties, campaign, source):
        super().__init__(pk, type, name, url, asset_key, occurred_at, properties)
        self.campaign, self.source = campaign, source

    def get_type_display(self) -> str:
        return dict(EventType.choices).get(self.type, self.type)


def _history_replay(lead: Lead, spec: scoring.ModelSpec, catalog: AssetCatalog) -> ReplayedHistory:
    with collector_paused():
        return _history_replay_objects(lead, spec, catalog)


def _history_replay_objects(lead: Lead, spec: scoring.ModelSpec, catalog: AssetCatalog) -> ReplayedHistory:
    events = [ListedEvent(*row) for row in lead_events(lead).values_list(*ListedEvent.COLUMNS)]
    by_id = {event.pk: event for event in events}
    state, outcome = scoring.replay(engine_inputs(events, catalog), spec)
    lines = tuple(
        ContributionLine(
            c.at,
            c.kind,
            c.delta,
            c.score_after,
            by_id.get(c.ref),
            _rule_label(spec, c.rule_index, by_id.get(c.ref)),
        )
        for c in outcome.contributions
    )
    return ReplayedHistory(state, lines)


def _history_remember(key: tuple, events: int, history: ReplayedHistory) -> None:
    with _history_lock:
        stale = [k for k in _history_cache if k[0] == key[0]]  # the same lead before newer events
        for k in stale:
            del _history_cache[k]
        _history_cache[key] = (events, history)
        while (
            sum(n for n, _ in _history_cache.values()) > HISTORY_CACHE_MAX_EVENTS and len(_history_cache) > 1
        ):
            _history_cache.popitem(last=False)


# A lead with thousands of events would render thousands of rows; the newest are listed and
# the older ones summed per rule, so the page stays small and its total still equals the score.
CONTRIBUTIONS_LISTED = 50
# A line chart cannot show more points than it has pixels; the crossings and extremes survive.
SCORE_CHART_POINTS = 500


@dataclass(frozen=True)
class RuleTotal:
    rule: str
    count: int
    delta: float
    first_at: datetime
    last_at: datetime


@dataclass(frozen=True)
class ContributionSummary:
    """Older lines summed per rule, then the newest lines one by one (oldest first)."""

    earlier: list[RuleTotal]
    recent: list[ContributionLine]
    total: float

    @property
    def earlier_count(self) -> int:
        return sum(group.count for group in self.earlier)


def contributions_summarise(lines: list[ContributionLine], *, listed: int) -> ContributionSummary:
    cut = max(0, len(lines) - listed)
    groups: dict[str, list] = {}
    for line in lines[:cut]:
        group = groups.setdefault(line.rule, [0, [], line.at, line.at])
        group[0] += 1
        group[1].append(line.delta)
        group[3] = line.at
    earlier = [
        RuleTotal(rule, count, math.fsum(deltas), first_at, last_at)
        for rule, (count, deltas, first_at, last_at) in groups.items()
    ]
    earlier.sort(key=lambda group: -abs(group.delta))
    return ContributionSummary(earlier, lines[cut:], math.fsum(line.delta for line in lines))


def lead_contribution_summary(
    *, lead: Lead, as_of: datetime | None = None, listed: int | None = None
) -> tuple[ContributionSummary, float]:
    """ "Why this score" for the page: see `contributions_summarise`; the replayed score beside it."""
    lines, replayed_score = lead_contributions(lead=lead, as_of=as_of)
    listed = CONTRIBUTIONS_LISTED if listed is None else listed
    return contributions_summarise(lines, listed=listed), replayed_score


def series_downsample(points: list[tuple[str, float]], *, cap: int, stage_of) -> list[tuple[str, float]]:
    """At most `cap` points, keeping the first and last, both sides of every stage crossing,
    the global extremes and the low and high of evenly spaced buckets (min-max decimation).
    If the crossings alone exceed the cap, evenly spaced ones among them are kept."""
    if len(points) <= cap:
        return points
    last = len(points) - 1
    scores = [score for _, score in points]
    stages = [stage_of(score) for score in scores]
    keep = {0, last, scores.index(max(scores)), scores.index(min(scores))}
    for i in range(1, len(points)):
        if stages[i] != stages[i - 1]:
            keep.update((i - 1, i))
    if len(keep) > cap:
        ordered = sorted(keep)
        step = (len(ordered) - 1) / max(cap - 1, 1)
        keep = {ordered[round(k * step)] for k in range(cap)}
    else:
        buckets = (cap - len(keep)) // 2
        for b in range(buckets):
            start, end = b * len(points) // buckets, (b + 1) * len(points) // buckets
            window = scores[start:end]
            if window:
                keep.add(start + window.index(min(window)))
                keep.add(start + window.index(max(window)))
    return [points[i] for i in sorted(keep)]


def _rule_label(spec: scoring.ModelSpec, index: int | None, event: Event | None) -> str:
    if event is not None and event.type == "manual":
        return f"Manual: {event.properties.get('reason', '')}"
    if index is None:
        return "No rule matched" if event is not None else "Decay tick"
    rule = spec.rules[index]
    target = rule.url_pattern or rule.event_name or rule.asset or rule.asset_flag or rule.product_line or ""
    return f"{rule.event_type}{' · ' + target if target else ''} ({rule.points:g})"


@dataclass(frozen=True)
class ScoreBreakdown:
    """A short "why this score" for a list row: the rules that earned the most points, and decay."""

    top: list[tuple[str, float]]
    decay: float


def score_breakdowns(*, leads: list[Lead], limit: int = 3) -> dict[int, ScoreBreakdown]:
    """Breakdowns for one page of leads under the active version: one query for their events."""
    if not leads:
        return {}
    spec, catalog = spec_for(active_version()), AssetCatalog.load()
    events_by_lead: dict[int, list[Event]] = defaultdict(list)
    for event in Event.objects.filter(lead__in=[lead.pk for lead in leads]).order_by(
        "lead_id", "occurred_at", "id"
    ):
        events_by_lead[event.lead_id].append(event)
    now, breakdowns = timezone.now(), {}
    for lead in leads:
        events = events_by_lead.get(lead.pk, [])
        by_id = {event.pk: event for event in events}
        _, outcome = scoring.replay(
            engine_inputs(events, catalog), spec, as_of=max(now, lead.scored_at or now)
        )
        earned: dict[str, float] = defaultdict(float)
        decay = 0.0
        for line in outcome.contributions:
            if line.kind == "decay":
                decay += line.delta
            elif line.delta:
                earned[_rule_label(spec, line.rule_index, by_id.get(line.ref))] += line.delta
        top = sorted(earned.items(), key=lambda item: (-item[1], item[0]))[:limit]
        breakdowns[lead.pk] = ScoreBreakdown(top=top, decay=decay)
    return breakdowns


def lead_score_now(*, lead: Lead, as_of: datetime | None = None) -> float:
    """The stored score advanced to now: decay between materialisations is never stale on screen."""
    spec = spec_for(active_version())
    state = scoring.ScoreState(lead.score, lead.scored_at, lead.last_engaged_at)
    as_of = as_of or timezone.now()
    return scoring.advance(state, max(as_of, lead.scored_at or as_of), spec.decay, spec.floor).score


# --- marketer workspace (§4, §5, §6) ---------------------------------------------------------
# Everything below returns plain ints, floats and strings so charts and templates never
# touch the ORM. Aggregates are set-based: one GROUP BY per figure, never a loop over leads.

FUNNEL = (Stage.STAGE_1, Stage.STAGE_2, Stage.STAGE_3, Stage.SALES_READY, Stage.OPPORTUNITY, Stage.CUSTOMER)
FORECAST_DAYS = 30
HISTOGRAM_BUCKET = 10
LIST_COUNT_CAP = 10_000
# The warm-up job (scoring_site/schedule.py) refreshes the default view every minute, so
# marketers read figures at most about a minute old without waiting for a million-lead scan.
DASHBOARD_CACHE_SECONDS = 150
DASHBOARD_DEFAULT_DAYS = 30
STAGE_LABEL = {stage.value: stage.label for stage in Stage}


def stage_label(stage: int) -> str:
    return STAGE_LABEL.get(stage, f"Stage {stage}")


@dataclass(frozen=True)
class DateRange:
    since: date
    until: date  # inclusive

    @property
    def days(self) -> int:
        return (self.until - self.since).days + 1

    @property
    def start(self) -> datetime:
        return datetime.combine(self.since, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=UTC)

    def previous(self) -> DateRange:
        return DateRange(self.since - timedelta(days=self.days), self.since - timedelta(days=1))


def snapshot_series(*, period: DateRange, leads=None) -> tuple[list[str], dict[int, list[int]]]:
    """Stage counts per day. All leads: from the daily snapshots, and a day without a
    snapshot is left out rather than drawn as zero (zero would be a claim the snapshot job
    never made). A segment: today's members, their stage each day rebuilt from the
    stage-change log (snapshots count every lead, so they cannot be narrowed)."""
    if leads is not None:
        by_day = stage_counts_by_day(since=period.since, until=period.until, leads=leads)
    else:
        rows = StageSnapshot.objects.filter(day__gte=period.since, day__lte=period.until).values_list(
            "day", "stage", "count"
        )
        by_day = {}
        for day_, stage, count in rows:
            by_day.setdefault(day_, {})[stage] = count
    days = sorted(by_day)
    stages = sorted({stage for counts in by_day.values() for stage, n in counts.items() if n})
    return [d.isoformat() for d in days], {s: [by_day[d].get(s, 0) for d in days] for s in stages}


def stage_counts_by_day(
    *, since: date, until: date, leads=None, counts_now: list[StageCount] | None = None
) -> dict[date, dict[int, int]]:
    """Leads per stage at the end of each day from `since` to `until`, from the stage-change log.

    Walked back from today's counts: each logged change after a day moved one lead from
    `from_stage` to `to_stage`, and a lead that appeared after it (first event or creation,
    whichever is first) entered stage 1 then; undoing those gives that day. Starting from
    today means the last day always equals the live stage counts on the same page
    (`counts_now`: those counts when the caller has them already)."""
    after = datetime.combine(since + timedelta(days=1), time.min, tzinfo=UTC)
    moves: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for day_, n in _appearances_by_day(leads, after=after):
        moves[day_][Stage.STAGE_1] += n
    changes = StageChange.objects.filter(at__gte=after)
    if leads is not None:
        changes = changes.filter(lead__in=leads.values("id"))
    # One GROUP BY on (day, from, to) serves both sides of every move.
    per_day = (
        changes.annotate(day=TruncDate("at"))
        .values_list("day", "from_stage", "to_stage")
        .annotate(n=Count("id"))
        .order_by()
    )
    for day_, from_stage, to_stage, n in per_day:
        moves[day_][from_stage] -= n
        moves[day_][to_stage] += n
    counts_now = stage_counts(leads=leads) if counts_now is None else counts_now
    counts = {c.stage: c.count for c in counts_now}

    def undo(day_moves):
        for stage, n in day_moves.items():
            counts[stage] = counts.get(stage, 0) - n

    for day_ in [d for d in moves if d > until]:
        undo(moves[day_])
    result = {}
    day_ = until
    while day_ >= since:
        result[day_] = {stage.value: counts.get(stage.value, 0) for stage in Stage}
        undo(moves.get(day_, {}))  # what happened during this day: undone, the day before remains
        day_ -= timedelta(days=1)
    return dict(sorted(result.items()))


def _appearances_by_day(leads=None, *, after: datetime):
    # `appeared_at` is the earlier of creation and first event, kept by ingest and indexed.
    leads = Lead.objects.all() if leads is None else leads
    return (
        leads.filter(appeared_at__gte=after)
        .annotate(day=TruncDate("appeared_at"))
        .values_list("day")
        .annotate(n=Count("id"))
        .order_by()
    )


@dataclass(frozen=True)
class PeriodComparison:
    stage: int
    label: str
    current: int | None
    previous: int | None

    @property
    def change(self) -> int | None:
        return None if self.current is None or self.previous is None else self.current - self.previous

    @property
    def change_percent(self) -> float | None:
        if self.change is None or not self.previous:
            return None
        return 100.0 * self.change / self.previous


def period_comparison(
    *, period: DateRange, leads=None, counts_now: list[StageCount] | None = None
) -> list[PeriodComparison]:
    """Leads per stage on the last day of this period vs of the period before: from the
    snapshots for all leads, from the stage-change log for a segment's members. A period
    that ends today ends with today's live counts, the same figures as the stage cards:
    today's snapshot is only taken at the end of the day. `counts_now`: today's stage
    counts of these leads when the caller has them already (one scan of the leads, not three)."""
    if leads is None:
        current = _live_counts(counts_now) if period.until >= timezone.localdate() else _last_snapshot(period)
        previous = _last_snapshot(period.previous())
    else:
        before = period.previous()
        by_day = stage_counts_by_day(
            since=before.since, until=period.until, leads=leads, counts_now=counts_now
        )
        current, previous = by_day[period.until], by_day[before.until]
    stages = sorted(s for s in set(current) | set(previous) if current.get(s) or previous.get(s))
    return [PeriodComparison(s, stage_label(s), current.get(s), previous.get(s)) for s in stages]


def _live_counts(counts_now: list[StageCount] | None = None) -> dict[int, int]:
    counts_now = stage_counts() if counts_now is None else counts_now
    return {c.stage: c.count for c in counts_now if c.count}


def _last_snapshot(period: DateRange) -> dict[int, int]:
    last_day = (
        StageSnapshot.objects.filter(day__gte=period.since, day__lte=period.until)
        .order_by("-day")
        .values_list("day", flat=True)
        .first()
    )
    if last_day is None:
        return {}
    return dict(StageSnapshot.objects.filter(day=last_day).values_list("stage", "count"))


@dataclass(frozen=True)
class StageVelocity:
    stage: int
    label: str
    now: int
    entered: int
    left: int
    moved_forward: int
    forward_within_forecast: int
    average_days: float | None
    median_days: float | None
    forecast: int

    @property
    def conversion(self) -> float | None:
        """Share of leads that entered this stage in the period and then moved further down the funnel."""
        return self.moved_forward / self.entered if self.entered else None


def stage_velocity(
    *, period: DateRange, leads=None, counts_now: list[StageCount] | None = None
) -> list[StageVelocity]:
    """Time in stage, conversion and 30-day forecast from the stage-change log (§5).

    A *stay* starts at a change into a stage within the period and ends at the lead's next
    change (whenever it happened). Time in stage counts stays that ended; conversion is the
    share of stays that ended by moving forward; the forecast is today's count times the
    share of stays that moved forward within 30 days."""
    rows = _stay_aggregates(period, leads)
    medians = (
        {stage: row["median_days"] for stage, row in rows.items()}
        if connection.vendor == "postgresql"
        else _stay_medians(period, leads)
    )
    counts_now = stage_counts(leads=leads) if counts_now is None else counts_now
    now_by_stage = {c.stage: c.count for c in counts_now}
    result = []
    for stage in FUNNEL[:-1]:
        row = rows.get(stage.value, {})
        entered = row.get("entered", 0)
        within = row.get("forward_within", 0)
        forecast = round(now_by_stage.get(stage.value, 0) * within / entered) if entered else 0
        result.append(
            StageVelocity(
                stage=stage.value,
                label=stage.label,
                now=now_by_stage.get(stage.value, 0),
                entered=entered,
                left=row.get("left", 0),
                moved_forward=row.get("forward", 0),
                forward_within_forecast=within,
                average_days=row.get("average_days"),
                median_days=medians.get(stage.value),
                forecast=forecast,
            )
        )
    return result


def _seconds_between(later: str, earlier: str) -> str:
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _db_instant(instant: datetime):
    # Raw SQL gets instants exactly as the ORM would store them (SQLite keeps naive UTC text).
    return connection.ops.adapt_datetimefield_value(instant)


def _stays_sql(period: DateRange, leads) -> tuple[str, list]:
    # Filtering on `at` before the window is safe: a stay's end is always a later change.
    table = StageChange._meta.db_table
    where, params = "at >= %s", [_db_instant(period.start)]
    if leads is not None:
        lead_sql, lead_params = leads.values("id").query.sql_with_params()
        where += f" AND lead_id IN ({lead_sql})"
        params += list(lead_params)
    sql = f"""
        SELECT to_stage AS stage, at AS entered_at,
               LEAD(at) OVER (PARTITION BY lead_id ORDER BY at, id) AS left_at,
               LEAD(to_stage) OVER (PARTITION BY lead_id ORDER BY at, id) AS next_stage
        FROM {table} WHERE {where}"""
    return sql, params


def _stay_aggregates(period: DateRange, leads) -> dict[int, dict]:
    stays, params = _stays_sql(period, leads)
    seconds = _seconds_between("left_at", "entered_at")
    forward = f"(next_stage > stage AND next_stage <> {Stage.DISQUALIFIED.value})"
    # PostgreSQL takes the median in the same pass; SQLite has no percentile, see _stay_medians.
    median = (
        f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {seconds}) FILTER (WHERE left_at IS NOT NULL) / 86400.0"
        if connection.vendor == "postgresql"
        else "NULL"
    )
    sql = f"""
        SELECT stage, COUNT(*),
               COUNT(left_at),
               SUM(CASE WHEN {forward} THEN 1 ELSE 0 END),
               SUM(CASE WHEN {forward} AND {seconds} <= %s THEN 1 ELSE 0 END),
               AVG({seconds}) / 86400.0,
               {median}
        FROM ({stays}) stays WHERE entered_at < %s GROUP BY stage"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [FORECAST_DAYS * 86400, *params, _db_instant(period.end)])
        return {
            stage: {
                "entered": entered,
                "left": left,
                "forward": forward_n or 0,
                "forward_within": within or 0,
                "average_days": float(average) if average is not None else None,
                "median_days": float(median_days) if median_days is not None else None,
            }
            for stage, entered, left, forward_n, within, average, median_days in cursor.fetchall()
        }


def _stay_medians(period: DateRange, leads) -> dict[int, float]:
    """Median time in stage for databases without percentile_cont (SQLite: small installs)."""
    stays, params = _stays_sql(period, leads)
    seconds = _seconds_between("left_at", "entered_at")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT stage, {seconds} / 86400.0 FROM ({stays}) stays "
            f"WHERE entered_at < %s AND left_at IS NOT NULL ORDER BY stage",
            [*params, _db_instant(period.end)],
        )
        durations: dict[int, list[float]] = {}
        for stage, days in cursor.fetchall():
            durations.setdefault(stage, []).append(days)
        return {stage: statistics.median(values) for stage, values in durations.items()}


@dataclass(frozen=True)
class Mover:
    what: str
    count: int


@dataclass(frozen=True)
class StageMovers:
    stage: int
    label: str
    actions_in: list[Mover]
    actions_out: list[Mover]
    campaigns_in: list[Mover]
    campaigns_out: list[Mover]


def stage_movers(*, period: DateRange, leads=None, top: int = 3) -> list[StageMovers]:
    """The actions (event types, custom names) and campaigns behind stage changes in the period.
    One GROUP BY over the period's changes (two: with and without an event) feeds all four
    top lists."""
    changes = StageChange.objects.filter(at__gte=period.start, at__lt=period.end)
    if leads is not None:
        changes = changes.filter(lead__in=leads.values("id"))
    # Changes without an event (decay, recalculation) are grouped without the event join:
    # counted together, the planner expects an event for each and hashes the whole event
    # table (10M rows, 2 s) where the few with one are looked up by key.
    without_event = (
        changes.filter(event__isnull=True)
        .values_list("from_stage", "to_stage", "reason", "campaign")
        .annotate(n=Count("id"))
        .order_by()
    )
    with_event = (
        changes.filter(event__isnull=False)
        .values_list("from_stage", "to_stage", "reason", "event__type", "event__name", "campaign")
        .annotate(n=Count("id"))
        .order_by()
    )
    rows = [
        *((from_, to, reason, None, None, campaign, n) for from_, to, reason, campaign, n in without_event),
        *with_event,
    ]
    tallies: dict[tuple[str, int], dict[str, int]] = {}
    for from_stage, to_stage, reason, event_type, name, campaign, n in rows:
        action = _action_label(reason, event_type, name)
        for key, what in (
            (("actions_in", to_stage), action),
            (("actions_out", from_stage), action),
            (("campaigns_in", to_stage), campaign),
            (("campaigns_out", from_stage), campaign),
        ):
            if what:
                bucket = tallies.setdefault(key, {})
                bucket[what] = bucket.get(what, 0) + n
    result = []
    for stage in Stage:
        lists = {
            kind: _top(tallies.get((kind, stage.value), {}), top)
            for kind in ("actions_in", "actions_out", "campaigns_in", "campaigns_out")
        }
        if any(lists.values()):
            result.append(StageMovers(stage.value, stage.label, **lists))
    return result


def _top(counts: dict[str, int], top: int) -> list[Mover]:
    return sorted((Mover(what, n) for what, n in counts.items()), key=lambda m: (-m.count, m.what))[:top]


def _action_label(reason: str, event_type: str | None, name: str | None) -> str:
    if event_type:
        label = dict(EventType.choices).get(event_type, event_type)
        return f"{label}: {name}" if name else label
    return dict(StageChange.Reason.choices).get(reason, reason)


def score_histogram(
    *, leads=None, segment_key: str = "-", refresh: bool = False
) -> tuple[list[str], list[int]]:
    """Leads per score band of 10 points; the top band is open (T×1.5 and above).
    Cached like the dashboard it belongs to (same key parts): it reads every lead."""
    state, _ = figures_state()
    key = f"leads:score-histogram:{state}:{segment_key}"
    cached = None if refresh else cache.get(key)
    if cached is None:
        cached = _score_histogram(leads)
        cache.set(key, cached, DASHBOARD_CACHE_SECONDS)
    return cached


def _score_histogram(leads) -> tuple[list[str], list[int]]:
    leads = Lead.objects.all() if leads is None else leads
    top = int(spec_for(active_version()).sales_ready_score * 1.5) // HISTOGRAM_BUCKET
    rows = dict(
        leads.annotate(band=Floor(F("score") / HISTOGRAM_BUCKET))
        .values_list("band")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = [0] * (top + 1)
    for band, n in rows.items():
        counts[min(int(band or 0), top)] += n
    labels = [f"{b * HISTOGRAM_BUCKET}–{(b + 1) * HISTOGRAM_BUCKET - 1}" for b in range(top)] + [
        f"{top * HISTOGRAM_BUCKET}+"
    ]
    return labels, counts


def capped_count(queryset, cap: int | None = None) -> tuple[int, bool]:
    """How many rows, counting at most `cap` + 1: an exact COUNT(*) over a million filtered
    leads on every keystroke is what makes lead lists slow."""
    cap = LIST_COUNT_CAP if cap is None else cap
    n = queryset.order_by()[: cap + 1].count()
    return min(n, cap), n > cap


def lead_score_series(*, lead: Lead, as_of: datetime | None = None) -> list[tuple[str, float]]:
    """(ISO instant, score) after every contribution, ending at now: the score-over-time line,
    downsampled for a long history."""
    as_of = as_of or timezone.now()
    contributions, score_now = lead_contributions(lead=lead, as_of=as_of)
    points = [(line.at.isoformat(), round(line.score_after, 2)) for line in contributions]
    if contributions:
        points.append((max(as_of, contributions[-1].at).isoformat(), round(score_now, 2)))
    spec = spec_for(active_version())
    return series_downsample(
        points, cap=SCORE_CHART_POINTS, stage_of=lambda score: scoring.stage_for_score(score, spec)
    )


ACCOUNT_CHART_MEMBERS = 50


def account_score_series(
    *, account: Account, days: int = 90, as_of: datetime | None = None
) -> list[tuple[str, float]]:
    """The account score (§4: engaged members only) at the end of each of the last `days` days,
    rebuilt from each member's contributions. Only the top members are replayed so a
    giant account cannot make its page slow; the page says so."""
    as_of = as_of or timezone.now()
    window = timedelta(days=spec_for(active_version()).engagement_days)
    day_ends = [as_of - timedelta(days=n) for n in range(days - 1, -1, -1)]
    totals = [0.0] * len(day_ends)
    for member in account.leads.order_by("-score", "id")[:ACCOUNT_CHART_MEMBERS]:
        contributions, _ = lead_contributions(lead=member, as_of=as_of)
        index, score, last_engaged = 0, 0.0, None
        for i, end in enumerate(day_ends):
            while index < len(contributions) and contributions[index].at <= end:
                line = contributions[index]
                score = line.score_after
                if line.kind == "event" and line.delta > 0:
                    last_engaged = line.at
                index += 1
            if last_engaged is not None and last_engaged >= end - window:
                totals[i] += score
    return [(end.date().isoformat(), round(total, 2)) for end, total in zip(day_ends, totals)]


@dataclass(frozen=True)
class AccountMember:
    lead: Lead
    counts: bool  # engaged in the window, so its score is part of the account score
    why: str  # a sentence saying why it counts or not
    role: str | None  # buying role from the title
    share: float  # of the account score, 0..1


@dataclass(frozen=True)
class RoleCoverage:
    role: str
    keywords: tuple[str, ...]
    engaged: int  # engaged members in this role
    members: int  # all members in this role (of those looked at)


@dataclass(frozen=True)
class AccountWhy:
    engagement_days: float
    min_engaged: int
    threshold: float
    members: list[AccountMember]  # the `limit` highest scores, counting or not
    top_contributors: list[AccountMember]  # engaged members, highest first
    coverage: list[RoleCoverage]
    ready_reason: str


def buying_roles() -> list[tuple[str, tuple[str, ...]]]:
    return [
        (role.name, accounts_engine.keywords_parse(role.keywords))
        for role in BuyingRole.objects.order_by("position", "id")
    ]


ROLE_SCAN_LIMIT = 5000


def account_why(*, account: Account, as_of: datetime | None = None, limit: int = 100) -> AccountWhy:
    """Which members make the account score and why the others do not (§4), buying-role
    coverage, and why the account is or is not sales-ready. Figures are the roll-up's."""
    as_of = as_of or timezone.now()
    spec = spec_for(active_version())
    days, since = spec.engagement_days, accounts_engine.engaged_since(as_of, spec.engagement_days)
    roles = buying_roles()
    total = account.score or 0

    def member(lead: Lead) -> AccountMember:
        counts = lead.last_engaged_at is not None and lead.last_engaged_at >= since
        if counts:
            why = f"engaged {_days_ago(as_of, lead.last_engaged_at)}, within {days:g} days"
        elif lead.last_engaged_at is None:
            why = "never earned points: counts 0"
        else:
            why = f"last engaged {_days_ago(as_of, lead.last_engaged_at)}, outside {days:g} days: counts 0"
        share = (lead.score / total) if counts and total else 0.0
        return AccountMember(lead, counts, why, accounts_engine.buying_role(lead.title, roles), share)

    members = [
        member(lead) for lead in account.leads.select_related("owner").order_by("-score", "id")[:limit]
    ]
    engaged_top = account.leads.select_related("owner").filter(last_engaged_at__gte=since)
    top = [member(lead) for lead in engaged_top.order_by("-score", "id")[:5]]
    # Coverage from titles: engaged members all, dormant ones up to a bound (a huge account
    # of old contacts must not make the page slow).
    engaged_roles: dict[str, int] = {}
    member_roles: dict[str, int] = {}
    for title, last in account.leads.order_by("-last_engaged_at").values_list("title", "last_engaged_at")[
        :ROLE_SCAN_LIMIT
    ]:
        role = accounts_engine.buying_role(title, roles)
        if role is None:
            continue
        member_roles[role] = member_roles.get(role, 0) + 1
        if last is not None and last >= since:
            engaged_roles[role] = engaged_roles.get(role, 0) + 1
    coverage = [
        RoleCoverage(name, kws, engaged_roles.get(name, 0), member_roles.get(name, 0)) for name, kws in roles
    ]
    threshold = spec.account_sales_ready_score
    short = []
    if account.score < threshold:
        short.append(f"score {account.score:.1f} is below the threshold {threshold:g}")
    if account.engaged_members < spec.account_min_engaged:
        short.append(
            f"{account.engaged_members} engaged member{'s' if account.engaged_members != 1 else ''}, "
            f"{spec.account_min_engaged} needed"
        )
    ready_reason = (
        "Not sales-ready: " + " and ".join(short) + "."
        if short
        else f"Sales-ready: score {account.score:.1f} ≥ {threshold:g} with {account.engaged_members} engaged "
        f"members (at least {spec.account_min_engaged})."
    )
    return AccountWhy(days, spec.account_min_engaged, threshold, members, top, coverage, ready_reason)


def _days_ago(as_of: datetime, instant: datetime) -> str:
    days = (as_of - instant).days
    return "today" if days <= 0 else ("1 day ago" if days == 1 else f"{days} days ago")


@dataclass(frozen=True)
class TallyReport:
    sales_ready_score: float
    leads: int
    averages: list[tuple[int, str, float]]  # (stage, label, average interactions)
    suggested_points: int | None


def tally_calibration() -> TallyReport:
    """§4: average interactions per stage of the leads that reached sales-ready, and the
    points per interaction that would have brought them there: T / sum of the averages."""
    spec = spec_for(active_version())
    reached = Lead.objects.filter(
        Q(stage__in=[Stage.SALES_READY, Stage.OPPORTUNITY, Stage.CUSTOMER])
        | Exists(StageChange.objects.filter(lead=OuterRef("pk"), to_stage=Stage.SALES_READY))
    )
    stages = [s for s in scoring.SCORE_STAGES if s != scoring.SALES_READY]
    annotations = {f"tally_{s}": _tally_of(s) for s in stages}
    row = reached.annotate(**annotations).aggregate(
        leads=Count("id"), **{f"avg_{s}": Avg(f"tally_{s}") for s in stages}
    )
    averages = [(s, stage_label(s), float(row[f"avg_{s}"] or 0.0)) for s in stages]
    suggested = (
        scoring.suggested_points_per_interaction(spec.sales_ready_score, [a for _, _, a in averages])
        if row["leads"]
        else None
    )
    return TallyReport(spec.sales_ready_score, row["leads"], averages, suggested)


def _tally_of(stage: int) -> RawSQL:
    # Tally keys are stage numbers as strings; Django's JSON key lookups would read a
    # numeric key as an array index, so the path is spelled out per database.
    column = f'"{Lead._meta.db_table}"."engine_state"'
    if connection.vendor == "postgresql":
        return RawSQL(
            f"COALESCE(({column} -> 'tallies' ->> %s)::float, 0)", [str(stage)], output_field=FloatField()
        )
    return RawSQL(
        f"COALESCE(json_extract({column}, %s), 0)", [f'$.tallies."{stage}"'], output_field=FloatField()
    )


@dataclass(frozen=True)
class StageDashboard:
    computed_at: datetime
    period: DateRange
    lead_total: int
    stage_counts: list[StageCount]
    comparison: list[PeriodComparison]
    velocity: list[StageVelocity]
    movers: list[StageMovers]
    forecast_total: int


def figures_state() -> tuple[str, object | None]:
    """What every cached figure depends on besides its filters: the active version and its
    latest recalculation (id, status, finish). Also that run while it is unfinished, so a page
    says "recalculating" instead of showing counts from before the publish as current."""
    version = active_version()
    RecalculationRun = apps.get_model("models_review", "RecalculationRun")
    run = RecalculationRun.objects.filter(version=version).order_by("-id").first()
    if run is None:
        return f"v{version.pk}:-", None
    finished = run.finished_at.isoformat() if run.finished_at else "-"
    unfinished = run if run.status in (run.Status.QUEUED, run.Status.RUNNING) else None
    return f"v{version.pk}:r{run.pk}:{run.status}:{finished}", unfinished


def stage_dashboard(*, period: DateRange, segment=None, refresh: bool = False) -> StageDashboard:
    """Every figure of the stage dashboard (§5). Held for a minute per range, segment, active
    version and recalculation: with events streaming in, the stage-change log moves every
    second, and a page that says "figures as of 14:02" is honest where recomputing a million
    leads per view is not; a publish or a finished recalculation starts a new entry."""
    state, _ = figures_state()
    key = f"leads:stage-dashboard:{state}:{period.since}:{period.until}:{segment.pk if segment else '-'}"
    cached = None if refresh else cache.get(key)
    if cached is not None:
        return cached
    leads = segment_leads(segment)
    with analytic_queries():
        # Counted once: the cards, the velocity's "now" and the comparison's last day are one figure.
        counts = stage_counts(leads=leads)
        velocity = stage_velocity(period=period, leads=leads, counts_now=counts)
        dashboard = StageDashboard(
            computed_at=timezone.now(),
            period=period,
            lead_total=sum(c.count for c in counts),
            stage_counts=counts,
            comparison=period_comparison(period=period, leads=leads, counts_now=counts),
            velocity=velocity,
            movers=stage_movers(period=period, leads=leads),
            forecast_total=sum(v.forecast for v in velocity),
        )
    cache.set(key, dashboard, DASHBOARD_CACHE_SECONDS)
    return dashboard


# The dashboard's aggregates sort and hash hundreds of thousands of stage changes: with the
# default 4 MB they spill to disk, and JIT compiling each of them costs ~60 ms more than it saves.
ANALYTIC_WORK_MEM = "32MB"


@contextmanager
def analytic_queries():
    """Settings for a few large aggregates on PostgreSQL, for this transaction only."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(f"SET LOCAL work_mem = '{ANALYTIC_WORK_MEM}'")
        yield


def default_dashboard_period(today: date | None = None) -> DateRange:
    until = today or timezone.now().date()
    return DateRange(until - timedelta(days=DASHBOARD_DEFAULT_DAYS - 1), until)


def dashboard_warm() -> str:
    """Recompute the dashboard everyone opens first (all leads, the last 30 days)."""
    period = default_dashboard_period()
    dashboard = stage_dashboard(period=period, refresh=True)
    score_histogram(refresh=True)
    return f"{dashboard.lead_total} leads, {period.since}…{period.until}"


def segment_leads(segment):
    if segment is None:
        return None
    return segment_members(segment).order_by()


def lead_tallies(*, lead: Lead) -> list[tuple[str, int]]:
    """Interactions counted while the lead was in each stage (§4), in funnel order."""
    tallies = (lead.engine_state or {}).get("tallies", {})
    return [
        (stage_label(int(key)), count) for key, count in sorted(tallies.items(), key=lambda kv: int(kv[0]))
    ]
