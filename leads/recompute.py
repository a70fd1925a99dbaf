"""Replaying many leads at once (recalculation, §7) with the results of `lead_replay`.

`lead_replay` loads one lead's events and writes its row, product scores and stage change
one query at a time; over a million leads that is millions of round trips. Here a chunk
of leads (an id range) is read with one query for the leads and one for all their events
in (lead, time, id) order, as plain tuples. Score-mode models replay them through
`bulk_replay` (the engine's arithmetic compiled for bulk work); content-mode models go
through `scoring.replay` and `services.settle` as `lead_replay` does. The results are
written with one UPDATE … FROM, one product-score delete + insert and one stage-change
insert (COPY on PostgreSQL)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import groupby
from operator import itemgetter

from django.db import connection, transaction

from leads import bulk_replay, scoring
from leads.assets import AssetCatalog
from leads.bulk import insert_rows, update_rows
from leads.models import Event, Lead, ProductLine, ProductScore, StageChange
from leads.services import engine_input, settle, spec_for

LEAD_FIELDS = ("score", "scored_at", "last_engaged_at", "engine_state", "scored_with", "stage", "stage_changed_at",
               "is_cold", "cold_since")
PRODUCT_FIELDS = ("lead", "product_line", "score", "scored_at", "last_engaged_at")
CHANGE_FIELDS = ("lead", "from_stage", "to_stage", "at", "reason", "version")
EVENT_COLUMNS = ("lead_id", "id", "type", "name", "url", "asset_key", "occurred_at", "properties")


class EventRow:
    """The fields of an Event `engine_input` reads, without building model instances."""

    __slots__ = ("pk", "type", "name", "url", "asset_key", "occurred_at", "properties")

    def __init__(self, pk, type, name, url, asset_key, occurred_at, properties):
        self.pk, self.type, self.name, self.url = pk, type, name, url
        self.asset_key, self.occurred_at, self.properties = asset_key, occurred_at, properties or {}

    percent = Event.percent
    manual_points = Event.manual_points


@dataclass
class ChunkResult:
    leads: int
    last_lead_id: int


def lead_ids_after(after_id: int, limit: int) -> list[int]:
    return list(Lead.objects.filter(pk__gt=after_id).order_by("pk").values_list("pk", flat=True)[:limit])


def replay_chunk(*, version, after_id: int, limit: int, as_of: datetime, catalog: AssetCatalog,
                 on_written=None) -> ChunkResult | None:
    """Replay the next `limit` leads after `after_id` in one transaction. None when none are left.

    `on_written(result)` runs inside the same transaction, so a progress mark commits with
    the scores it describes (the crash-safe resume point)."""
    spec = spec_for(version)
    with transaction.atomic():
        leads = list(
            Lead.objects.select_for_update().filter(pk__gt=after_id).order_by("pk")
            .values_list("pk", "stage", "last_engaged_at", "is_cold", "cold_since", "stage_changed_at")[:limit]
        )
        if not leads:
            return None
        first_id, last_id = leads[0][0], leads[-1][0]
        states = _replayed_states(spec, catalog, first_id, last_id, as_of)
        lines = {pl.name: pl.pk for pl in ProductLine.objects.all()}
        lead_rows, product_rows, changes = [], [], []
        for pk, stage, last_engaged_at, is_cold, cold_since, stage_changed_at in leads:
            state = states(pk)
            new_stage, change_at = stage, stage_changed_at
            if state.stage != stage and stage not in scoring.SALES_OWNED_STAGES:
                changes.append((pk, stage, state.stage, as_of, StageChange.Reason.RECALCULATION, version.pk))
                new_stage, change_at = state.stage, as_of
            if state.sales.last_engaged_at != last_engaged_at and is_cold:
                is_cold, cold_since = False, None  # new engagement ends a cold spell (§6), as store_state does
            lead_rows.append(_lead_row(pk, state, version.pk, new_stage, change_at, is_cold, cold_since))
            product_rows.extend((pk, lines[name], s.score, s.scored_at, s.last_engaged_at)
                                for name, s in state.products.items() if name in lines)
        update_rows(Lead, LEAD_FIELDS, lead_rows)
        ProductScore.objects.filter(lead_id__gte=first_id, lead_id__lte=last_id).delete()
        insert_rows(ProductScore, PRODUCT_FIELDS, product_rows)
        insert_rows(StageChange, CHANGE_FIELDS, changes)
        result = ChunkResult(leads=len(leads), last_lead_id=last_id)
        if on_written is not None:
            on_written(result)
    return result


def _replayed_states(spec, catalog, first_id: int, last_id: int, as_of: datetime):
    """A lookup lead id → replayed and settled state, for the leads in [first_id, last_id]."""
    if not bulk_replay.supports(spec):
        events = _events_by_lead(first_id, last_id)
        return lambda pk: _replayed(events.get(pk, ()), spec, catalog, as_of)
    model = _compiled(spec, catalog)
    states = {lead_id: bulk_replay.replay(rows, model, as_of)
              for lead_id, rows in groupby(_event_rows(first_id, last_id), key=itemgetter(0))}
    return lambda pk: states.get(pk) or bulk_replay.replay((), model, as_of)


@lru_cache(maxsize=4)
def _compiled(spec: scoring.ModelSpec, catalog: AssetCatalog) -> bulk_replay.CompiledModel:
    # One per (version, catalogue) for the whole run, so each event shape is matched once.
    return bulk_replay.CompiledModel(spec, catalog)


def _event_rows(first_id: int, last_id: int):
    """`bulk_replay.Row`s of the leads' events in (lead, time, id) order, with instants as
    integer microseconds and the two numeric properties read in SQL."""
    sql = f"""SELECT lead_id, {_microseconds_sql("occurred_at")}, type, name, asset_key, url,
                     {_number_sql("percent")}, {_number_sql("points")}
                FROM leads_event WHERE lead_id >= %s AND lead_id <= %s
               ORDER BY lead_id, occurred_at, id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [first_id, last_id])
        while batch := cursor.fetchmany(10_000):
            yield from batch


def _microseconds_sql(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint"
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC: whole seconds, then the fraction's digits.
    return (f"(CAST(strftime('%%s', {column}) AS INTEGER) * 1000000"
            f" + CAST(substr(substr({column}, 21) || '000000', 1, 6) AS INTEGER))")


def _number_sql(key: str) -> str:
    """The property as `Event.percent`/`Event.manual_points` read it: a JSON number (or
    boolean, which Python counts as a number) as a float, anything else NULL."""
    if connection.vendor == "postgresql":
        value = f"properties -> '{key}'"
        return (f"CASE jsonb_typeof({value}) WHEN 'number' THEN ({value})::text::float8 "
                f"WHEN 'boolean' THEN CASE WHEN ({value})::boolean THEN 1.0 ELSE 0.0 END END")
    path = f"'$.{key}'"
    return (f"CASE json_type(properties, {path}) WHEN 'integer' THEN CAST(json_extract(properties, {path}) AS REAL) "
            f"WHEN 'real' THEN json_extract(properties, {path}) WHEN 'true' THEN 1.0 WHEN 'false' THEN 0.0 END")


def _lead_row(pk, state: scoring.LeadState, version_id, stage, stage_changed_at, is_cold, cold_since) -> tuple:
    scored_at = max(filter(None, [state.sales.scored_at, *(p.scored_at for p in state.products.values())]),
                    default=None)
    engine_state = {
        "video_max_percent": state.video_max_percent,
        "cap_day": state.cap_day.isoformat() if state.cap_day else None,
        "cap_counts": {str(k): v for k, v in state.cap_counts.items()},
        "tallies": {str(k): v for k, v in state.tallies.items()},
    }
    return (pk, state.sales.score, scored_at, state.sales.last_engaged_at, engine_state, version_id, stage,
            stage_changed_at, is_cold, cold_since)
