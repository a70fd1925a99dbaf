"""Daily bookkeeping on leads: stage snapshots (§5), cold leads (§6), account roll-up (§4).

All set-based (aggregates and UPDATEs), all idempotent for a given instant."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from leads.background.decay import decay_materialise
from leads.background.qualification import qualification_evaluate
from leads.models import Lead, Segment, Stage, StageChange, StageSnapshot
from leads.services import accounts_rollup, active_version, spec_for

COLD_SEGMENT_KEY = "cold-nurture"


# --- stage snapshots ------------------------------------------------------------------------


def snapshot_take(*, day: date) -> dict[int, int]:
    """Leads per stage now, stored for `day` (run at the end of the day); rerunning overwrites."""
    counts = dict(Lead.objects.values_list("stage").annotate(n=Count("id")).order_by())
    _store_snapshot(day, counts)
    return counts


def snapshots_backfill(*, until: date, days: int) -> int:
    """Rebuild `days` past days up to `until` from the StageChange log, set-based.

    A lead enters stage 1 on the day it appears (its first event or creation, whichever is
    first); each logged change moves one lead from `from_stage` to `to_stage` on its day.
    Summing those moves up to each day gives every day's counts with three GROUP BYs."""
    first = until - timedelta(days=days - 1)
    moves: dict[date, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for day, n in _appearances_by_day():
        moves[day][Stage.STAGE_1] += n
    changes = StageChange.objects.annotate(day=TruncDate("at")).values_list("day")
    for day, stage, n in changes.values_list("day", "from_stage").annotate(n=Count("id")).order_by():
        moves[day][stage] -= n
    for day, stage, n in changes.values_list("day", "to_stage").annotate(n=Count("id")).order_by():
        moves[day][stage] += n
    counts: dict[int, int] = defaultdict(int)
    for day in sorted(d for d in moves if d < first):
        _add(counts, moves[day])
    for offset in range(days):
        day = first + timedelta(days=offset)
        _add(counts, moves.get(day, {}))
        _store_snapshot(day, counts)
    return days


def _appearances_by_day():
    # appeared_at is maintained (the earlier of creation and first event); created_at only
    # stands in for a row written before it existed.
    appeared = Lead.objects.annotate(day=TruncDate(Coalesce("appeared_at", "created_at")))
    return appeared.values_list("day").annotate(n=Count("id")).order_by()


def _add(counts: dict[int, int], moves: dict[int, int]) -> None:
    for stage, n in moves.items():
        counts[stage] += n


def _store_snapshot(day: date, counts: dict[int, int]) -> None:
    rows = [StageSnapshot(day=day, stage=stage.value, count=counts.get(stage.value, 0)) for stage in Stage]
    with transaction.atomic():
        StageSnapshot.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["day", "stage"], update_fields=["count", "taken_at"]
        )


# --- cold leads -----------------------------------------------------------------------------


def cold_segment() -> Segment:
    segment, _ = Segment.objects.get_or_create(
        built_in=COLD_SEGMENT_KEY,
        defaults={
            "name": "Cold — nurture",
            "description": "Leads whose score has not increased for the model's cold window: re-engage them.",
            "filters": {"cold": "1"},
            "order": Segment.Order.LOWEST_FIRST,
        },
    )
    return segment


def cold_detect(*, now: datetime) -> tuple[int, int]:
    """Flag leads without a score increase for the cold window; unflag those that engaged since.

    A score increases only with a positive event, which sets last_engaged_at; a lead that never
    engaged counts from its creation. `cold_since` is the instant the window ran out."""
    window = timedelta(days=spec_for(active_version()).cold_after_days)
    cutoff = now - window
    cold_segment()
    with transaction.atomic():
        flagged = Lead.objects.filter(is_cold=False).filter(
            Q(last_engaged_at__lte=cutoff) | Q(last_engaged_at__isnull=True, created_at__lte=cutoff)
        )
        engaged = flagged.filter(last_engaged_at__isnull=False).update(
            is_cold=True, cold_since=F("last_engaged_at") + window
        )
        never = flagged.filter(last_engaged_at__isnull=True).update(
            is_cold=True, cold_since=F("created_at") + window
        )
        warmed = Lead.objects.filter(is_cold=True, last_engaged_at__gt=cutoff).update(
            is_cold=False, cold_since=None
        )
    return engaged + never, warmed


# --- accounts -------------------------------------------------------------------------------


def accounts_rollup_all(*, as_of: datetime) -> int:
    return accounts_rollup(as_of=as_of)


def background_catch_up(*, now: datetime, history_days: int = 0) -> None:
    """Everything the periodic jobs would have done up to `now` (demo data, restores):
    decay to now, cold detection, qualification, account roll-up, and snapshot history."""
    decay_materialise(now=now)
    cold_detect(now=now)
    qualification_evaluate(now=now)
    accounts_rollup_all(as_of=now)
    if history_days:
        snapshots_backfill(until=timezone.localdate(now), days=history_days)
