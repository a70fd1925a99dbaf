"""Decay materialisation (§3): write every lead's decayed score to an instant, set-based.

Only leads a tick can change are read: engaged at least the inactivity window ago and
above the floor (or with a product score above 0). They are read in id-ordered chunks,
advanced with `compiled.DecayArithmetic` (the engine's float operations on integer
microseconds, property-tested against it), and written back with one UPDATE … FROM per
chunk. A lead whose stage decay moves back goes through the engine's own `advance_lead`,
which logs each crossing (reason `decay`) at its tick instant.

Each state is dated at the last instant anything changed (the last tick, or the last
event), not at `now`: scores are flat between ticks, and an event arriving later but
dated after that instant then needs no replay. Running twice for the same instant
changes nothing the second time (no tick falls in (scored_at, now])."""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Max

from leads.db.bulk import epoch_microseconds_sql, table_tidy, update_rows
from leads.engine import compiled, scoring
from leads.models import Lead, ProductScore, StageChange
from leads.services import active_version, spec_for

CHUNK_SIZE = 5000
WORKERS = 2  # database sessions writing chunks side by side (PostgreSQL)
# Autovacuum's own threshold: a run that rewrote this share of the leads vacuums the table
# itself. The daily run rewrites ~13 % of them at 1M.
VACUUM_AFTER_SHARE = 0.2


class DecayedLead(NamedTuple):
    """A lead row decay writes; `stage_changed_at` is set only when the stage moved back."""

    pk: int
    score: float
    scored_at: datetime | None
    stage: int
    stage_changed_at: datetime | None


@dataclass
class DecayResult:
    leads_changed: int = 0
    products_changed: int = 0
    stage_changes: int = 0

    def add(self, other: DecayResult) -> None:
        self.leads_changed += other.leads_changed
        self.products_changed += other.products_changed
        self.stage_changes += other.stage_changes

    def __str__(self):
        return (
            f"{self.leads_changed} leads decayed, {self.products_changed} product scores, "
            f"{self.stage_changes} stages moved back"
        )


def decay_materialise(*, now: datetime, chunk_size: int = CHUNK_SIZE) -> DecayResult:
    version = active_version()
    spec = spec_for(version)
    result = DecayResult()
    last_id = Lead.objects.aggregate(last=Max("pk"))["last"] or 0
    # Fixed id ranges, so each chunk's candidate query reads one slice of the primary key
    # index instead of ranking every candidate in the table again.
    ranges = iter(range(0, last_id, chunk_size))
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        # SQLite has one writer at a time; a caller's transaction is one session's to use.
        _decay_ranges(ranges, chunk_size, spec, version, now, result)
        return result
    # Chunks are independent and the database's share of each is most of its cost:
    # sessions side by side use the cores.
    lock, errors = threading.Lock(), []
    workers = [
        threading.Thread(
            target=_decay_worker, args=(ranges, lock, errors, chunk_size, spec, version, now, result)
        )
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    if result.leads_changed and result.leads_changed >= VACUUM_AFTER_SHARE * Lead.objects.count():
        # A catch-up (after downtime, or the first run) rewrote a large share of the leads:
        # the pages would read their dead rows until autovacuum comes round.
        table_tidy(Lead)
    return result


def _decay_worker(ranges, lock, errors, chunk_size, spec, version, now, result) -> None:
    def next_ranges():
        while not errors:
            with lock:
                after_id = next(ranges, None)
            if after_id is None:
                return
            yield after_id

    try:
        mine = DecayResult()
        _decay_ranges(next_ranges(), chunk_size, spec, version, now, mine)
        with lock:
            result.add(mine)
    except Exception as error:
        errors.append(error)
    finally:
        connection.close()  # this thread's own session


def _decay_ranges(ranges, chunk_size, spec, version, now, result: DecayResult) -> None:
    for after_id in ranges:
        with transaction.atomic():
            ids = _candidate_ids(spec, now, after_id, after_id + chunk_size)
            if ids:
                _decay_chunk(_locked_rows(ids), spec, version, now, result)


def _candidate_ids(spec: scoring.ModelSpec, now: datetime, after_id: int, up_to_id: int) -> list[int]:
    """Ids of leads with a decay tick in (scored_at, now] on a score above its floor.

    A cheap pre-filter in SQL: the next tick after scored_at is computed in seconds, with a
    one-second margin so float rounding can only add candidates (the engine then finds no
    change), never drop one. The arithmetic that writes scores stays the engine's."""
    window, period = spec.decay.window.total_seconds(), spec.decay.period.total_seconds()
    sql = f"""
        SELECT id FROM leads_lead
         WHERE id > %s AND id <= %s AND score > %s AND last_engaged_at IS NOT NULL
           AND {_next_tick_sql("last_engaged_at", "scored_at")} <= %s
        UNION
        SELECT lead_id FROM leads_productscore
         WHERE lead_id > %s AND lead_id <= %s AND score > 0 AND last_engaged_at IS NOT NULL
           AND {_next_tick_sql("last_engaged_at", "scored_at")} <= %s
        ORDER BY 1"""
    limit_at = now.timestamp() + 1.0
    with connection.cursor() as cursor:
        tick = [window, window, window, window, period, period]
        cursor.execute(
            sql, [after_id, up_to_id, spec.floor, *tick, limit_at, after_id, up_to_id, *tick, limit_at]
        )
        return [row[0] for row in cursor.fetchall()]


def _next_tick_sql(engaged: str, scored: str) -> str:
    """Epoch seconds of the first tick after `scored` (ticks at engaged + W + k·P, k ≥ 0).
    Parameters, in order: W, W, W, W, P, P (seconds)."""
    epoch = (
        (lambda column: f"EXTRACT(EPOCH FROM {column})")
        if connection.vendor == "postgresql"
        else (lambda column: f"((julianday({column}) - 2440587.5) * 86400.0)")
    )
    first = f"({epoch(engaged)} + %s)"
    scored_seconds = f"COALESCE({epoch(scored)}, 0)"
    return (
        f"(CASE WHEN {scored_seconds} < {first} THEN {first} "
        f"ELSE {epoch(engaged)} + %s + (FLOOR(({scored_seconds} - {epoch(engaged)} - %s) / %s) + 1) * %s END)"
    )


def _locked_rows(ids: list[int]) -> list[tuple]:
    """(pk, score, scored_at µs, last_engaged_at µs, stage) of the leads, locked. Instants
    as integers: Django's time-zone-aware loader parses each timestamp in Python."""
    placeholders = ", ".join(["%s"] * len(ids))
    lock = (
        " FOR UPDATE" if connection.features.has_select_for_update else ""
    )  # SQLite: the write lock is the file's
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT id, score, {epoch_microseconds_sql("scored_at")},
                                  {epoch_microseconds_sql("last_engaged_at")}, stage
                             FROM leads_lead WHERE id IN ({placeholders}) ORDER BY id{lock}""",
            ids,
        )
        return cursor.fetchall()


def _product_rows(lead_ids: list[int]) -> dict[int, list[tuple]]:
    """lead id → [(pk, score, scored_at µs, last_engaged_at µs)] of its product scores."""
    placeholders = ", ".join(["%s"] * len(lead_ids))
    products = defaultdict(list)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT lead_id, id, score, {epoch_microseconds_sql("scored_at")},
                                  {epoch_microseconds_sql("last_engaged_at")}
                             FROM leads_productscore WHERE lead_id IN ({placeholders})""",
            lead_ids,
        )
        for lead_id, *row in cursor.fetchall():
            products[lead_id].append(row)
    return products


def _decay_chunk(rows, spec, version, now: datetime, result: DecayResult) -> None:
    arithmetic = compiled.DecayArithmetic(spec)
    now_us = compiled.microseconds(now)
    products = _product_rows([pk for pk, *_ in rows])
    lead_rows, product_rows, changes = [], [], []
    for pk, score, scored, engaged, stage in rows:
        decayed = (
            arithmetic.decayed(score, scored, engaged, now_us, spec.floor)
            if scored is None or now_us > scored
            else score
        )
        new_stage = scoring.next_stage(stage, decayed, spec, None) if decayed != score else stage
        moving = [arithmetic.last_moving_tick(score, scored, engaged, now_us, spec.floor)]
        decayed_products = []
        for product_pk, product_score, product_scored, product_engaged in products[pk]:
            moving.append(
                arithmetic.last_moving_tick(product_score, product_scored, product_engaged, now_us, 0.0)
            )
            after = (
                arithmetic.decayed(product_score, product_scored, product_engaged, now_us, 0.0)
                if product_scored is None or now_us > product_scored
                else product_score
            )
            if after != product_score:
                decayed_products.append((product_pk, after))
        # Dated at the last instant any of the lead's scores changed (see the module docstring).
        changed = max((i for i in [scored, *moving] if i is not None and i <= now_us), default=scored)
        dated = compiled.instant(max(changed, scored) if scored is not None else changed)
        product_rows.extend(
            (product_pk, after, compiled.instant(changed)) for product_pk, after in decayed_products
        )
        if new_stage != stage:
            # Rare: the stage log needs each crossing's tick instant, so the engine walks the ticks.
            state = scoring.LeadState(
                stage=stage,
                sales=scoring.ScoreState(score, compiled.instant(scored), compiled.instant(engaged)),
            )
            outcome = scoring.Outcome()
            scoring.advance_lead(state, now, spec, outcome)
            changes.extend(
                StageChange(
                    lead_id=pk,
                    from_stage=c.from_stage,
                    to_stage=c.to_stage,
                    at=c.at,
                    reason=StageChange.Reason.DECAY,
                    version=version,
                )
                for c in outcome.stage_changes
            )
            lead_rows.append(
                DecayedLead(pk, state.sales.score, dated, state.stage, outcome.stage_changes[-1].at)
            )
        elif decayed != score or changed != scored:
            lead_rows.append(DecayedLead(pk, decayed, dated, stage, None))
    _write(lead_rows, product_rows, changes)
    result.leads_changed += len(lead_rows)
    result.products_changed += len(product_rows)
    result.stage_changes += len(changes)


def _write(lead_rows: list[DecayedLead], product_rows, changes) -> None:
    moved = [row for row in lead_rows if row.stage_changed_at is not None]
    still = [
        (row.pk, row.score, row.scored_at, row.stage) for row in lead_rows if row.stage_changed_at is None
    ]
    update_rows(Lead, ("score", "scored_at", "stage", "stage_changed_at"), moved)
    update_rows(Lead, ("score", "scored_at", "stage"), still)
    update_rows(ProductScore, ("score", "scored_at"), product_rows)
    StageChange.objects.bulk_create(changes, batch_size=2000)
