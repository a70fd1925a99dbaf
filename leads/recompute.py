"""Replaying many leads at once (recalculation, §7) with the results of `lead_replay`.

`lead_replay` loads one lead's events and writes its row, product scores and stage change
one query at a time; over a million leads that is millions of round trips. Here a chunk
of leads (an id range) is read with one query for the leads and one for all their events
in (lead, time, id) order, each lead goes through the same engine calls as `lead_replay`
(`scoring.replay`, then `services.settle`), and the results are written with one
UPDATE … FROM, one product-score delete + insert and one stage-change insert."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import groupby

from django.db import transaction

from leads import scoring
from leads.assets import AssetCatalog
from leads.bulk import update_rows
from leads.models import Event, Lead, ProductLine, ProductScore, StageChange
from leads.services import engine_input, settle, spec_for

LEAD_FIELDS = ("score", "scored_at", "last_engaged_at", "engine_state", "scored_with", "stage", "stage_changed_at",
               "is_cold", "cold_since")
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
        events = _events_by_lead(first_id, last_id)
        lines = {pl.name: pl.pk for pl in ProductLine.objects.all()}
        lead_rows, product_rows, changes = [], [], []
        for pk, stage, last_engaged_at, is_cold, cold_since, stage_changed_at in leads:
            state = _replayed(events.get(pk, ()), spec, catalog, as_of)
            new_stage, change_at = stage, stage_changed_at
            if state.stage != stage and stage not in scoring.SALES_OWNED_STAGES:
                changes.append(StageChange(lead_id=pk, from_stage=stage, to_stage=state.stage, at=as_of,
                                           reason=StageChange.Reason.RECALCULATION, version=version))
                new_stage, change_at = state.stage, as_of
            if state.sales.last_engaged_at != last_engaged_at and is_cold:
                is_cold, cold_since = False, None  # new engagement ends a cold spell (§6), as store_state does
            lead_rows.append(_lead_row(pk, state, version.pk, new_stage, change_at, is_cold, cold_since))
            product_rows.extend(
                ProductScore(lead_id=pk, product_line_id=lines[name], score=s.score, scored_at=s.scored_at,
                             last_engaged_at=s.last_engaged_at)
                for name, s in state.products.items() if name in lines
            )
        update_rows(Lead, LEAD_FIELDS, lead_rows)
        ProductScore.objects.filter(lead_id__gte=first_id, lead_id__lte=last_id).delete()
        ProductScore.objects.bulk_create(product_rows, batch_size=2000)
        StageChange.objects.bulk_create(changes, batch_size=2000)
        result = ChunkResult(leads=len(leads), last_lead_id=last_id)
        if on_written is not None:
            on_written(result)
    return result


def _events_by_lead(first_id: int, last_id: int) -> dict[int, list[EventRow]]:
    rows = (Event.objects.filter(lead_id__gte=first_id, lead_id__lte=last_id)
            .order_by("lead_id", "occurred_at", "id").values_list(*EVENT_COLUMNS))
    return {lead_id: [EventRow(*row[1:]) for row in group] for lead_id, group in groupby(rows, key=lambda r: r[0])}


def _replayed(events, spec: scoring.ModelSpec, catalog: AssetCatalog, as_of: datetime) -> scoring.LeadState:
    state, _ = scoring.replay((engine_input(event, catalog) for event in events), spec)
    settle(state, max(as_of, state.sales.scored_at or as_of), spec)
    return state


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
