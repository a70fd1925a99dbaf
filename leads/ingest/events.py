"""Events in: store a batch once per idempotency key and score every touched lead (§3, §10).

Every path that brings activity in (the tracking API, CSV imports, demo data, a marketer's
manual adjustment, NPS answers) ends here. The arithmetic is the engine's; the score state
is loaded and stored by `leads.services`."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from leads.db.rows import LeadRow, bound_cursor, leads_appeared_at_lower, locked_lead_rows, recordset_sql
from leads.engine import scoring
from leads.ingest.assets import AssetCatalog, asset_key_for
from leads.models import Event, Identity, Lead, ProductScore, StageChange
from leads.services import (
    IdentityConflict,
    accounts_rollup,
    active_version,
    engine_input,
    lead_replay,
    load_state,
    replayed_state,
    spec_for,
    states_store,
)


@dataclass
class NewEvent:
    """A validated event on its way in (from the API, CSV, demo data or a marketer)."""

    type: str
    occurred_at: datetime
    lead_id: int | None = None
    anonymous_id: str = ""
    idempotency_key: str = ""
    name: str = ""
    url: str = ""
    asset_key: str = ""
    campaign: str = ""
    properties: dict = field(default_factory=dict)
    source: str = ""
    pk: int | None = None  # set once stored

    # What the engine reads of a stored event (`engine_input`), read the same way.
    percent = Event.percent
    manual_points = Event.manual_points


@dataclass
class IngestResult:
    stored: list[NewEvent] = field(default_factory=list)
    duplicates: int = 0
    replayed_leads: int = 0


def event_ingest(*, event: NewEvent) -> Event | None:
    """Store and score one event. Returns None when its idempotency key was seen before."""
    result = events_ingest(events=[event])
    return Event.objects.get(pk=result.stored[0].pk) if result.stored else None


def events_ingest(*, events: Sequence[NewEvent], now: datetime | None = None) -> IngestResult:
    """Store a batch in one transaction and score every touched lead once (§3).

    Concurrent batches may race on an idempotency key; the loser retries once and then
    finds the winner's row, so a message is stored exactly once."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                return _ingest(events, now or timezone.now())
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _ingest(events: Sequence[NewEvent], now: datetime) -> IngestResult:
    result = IngestResult()
    keyed = list(_with_keys(events).values())
    _attach_known_anonymous(keyed)
    for event in keyed:
        event.asset_key = event.asset_key or asset_key_for(event.type, event.url, event.properties)
    fresh = _insert_new_events(keyed, now)
    result.stored, result.duplicates = fresh, len(events) - len(fresh)
    if not fresh:
        return result
    catalog = AssetCatalog.register_and_load(fresh)
    by_lead: dict[int, list[NewEvent]] = defaultdict(list)
    for event in fresh:
        if event.lead_id:
            by_lead[event.lead_id].append(event)
    if by_lead:
        result.replayed_leads = _score_leads(by_lead, catalog, now)
    return result


def _with_keys(events: Sequence[NewEvent]) -> dict[str, NewEvent]:
    keyed: dict[str, NewEvent] = {}
    for event in events:
        key = event.idempotency_key or uuid.uuid4().hex
        keyed.setdefault(key, event)  # a key repeated inside one batch is stored once too
        event.idempotency_key = key
    return keyed


def _attach_known_anonymous(events: list[NewEvent]) -> None:
    pending = {e.anonymous_id for e in events if e.lead_id is None and e.anonymous_id}
    if not pending:
        return
    known = dict(
        Identity.objects.filter(anonymous_id__in=pending, lead__isnull=False).values_list(
            "anonymous_id", "lead_id"
        )
    )
    for event in events:
        if event.lead_id is None and event.anonymous_id in known:
            event.lead_id = known[event.anonymous_id]


_EVENT_INSERT_FIELDS = [
    "idempotency_key",
    "lead",
    "anonymous_id",
    "type",
    "name",
    "asset_key",
    "url",
    "occurred_at",
    "received_at",
    "campaign",
    "properties",
    "source",
]


def _insert_new_events(events: list[NewEvent], now: datetime) -> list[NewEvent]:
    """Store the events whose idempotency key is new; returns them with their ids set."""
    if connection.vendor == "postgresql":
        return _insert_new_events_postgresql(events, now)
    seen = set(
        Event.objects.filter(idempotency_key__in=[e.idempotency_key for e in events]).values_list(
            "idempotency_key", flat=True
        )
    )
    fresh = [event for event in events if event.idempotency_key not in seen]
    rows = Event.objects.bulk_create([_event_row(event) for event in fresh], batch_size=500)
    for event, row in zip(fresh, rows):
        event.pk = row.pk
    return fresh


def _insert_new_events_postgresql(events: list[NewEvent], now: datetime) -> list[NewEvent]:
    """One INSERT … SELECT from a JSON recordset, ON CONFLICT DO NOTHING: the unique index
    answers "seen before?" (waiting for a concurrent batch holding the same key) in the
    same statement that stores, and no model instances are built on the hot path."""
    fields = [Event._meta.get_field(name) for name in _EVENT_INSERT_FIELDS]
    quote = connection.ops.quote_name
    names = ", ".join(quote(f.column) for f in fields)
    received_at = now.isoformat()
    records = json.dumps(
        [
            {
                "idempotency_key": e.idempotency_key,
                "lead_id": e.lead_id,
                "anonymous_id": e.anonymous_id,
                "type": e.type,
                "name": e.name,
                "asset_key": e.asset_key,
                "url": e.url,
                "occurred_at": e.occurred_at.isoformat(),
                "received_at": received_at,
                "campaign": e.campaign,
                "properties": e.properties,
                "source": e.source,
            }
            for e in events
        ]
    )
    with bound_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(Event._meta.db_table)} ({names}) "
            f"SELECT {names} FROM {recordset_sql(fields)} "
            f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key",
            [records],
        )
        ids = {key: pk for pk, key in cursor.fetchall()}
    fresh = [event for event in events if event.idempotency_key in ids]
    for event in fresh:
        event.pk = ids[event.idempotency_key]
    return fresh


def _event_row(event: NewEvent) -> Event:
    return Event(
        idempotency_key=event.idempotency_key,
        lead_id=event.lead_id,
        anonymous_id=event.anonymous_id,
        type=event.type,
        name=event.name,
        url=event.url,
        asset_key=event.asset_key,
        occurred_at=event.occurred_at,
        campaign=event.campaign,
        properties=event.properties,
        source=event.source,
    )


def _score_leads(by_lead: dict[int, list[NewEvent]], catalog: AssetCatalog, now: datetime) -> int:
    """Score every touched lead once, in a fixed number of queries per batch. Rows are
    locked in id order so concurrent batches wait for each other instead of deadlocking."""
    version = active_version()
    spec = spec_for(version)
    leads = {lead.pk: lead for lead in locked_lead_rows(list(by_lead))}
    product_scores = defaultdict(list)
    for ps in ProductScore.objects.filter(lead_id__any_of=list(leads)).select_related("product_line"):
        product_scores[ps.lead_id].append(ps)
    new_events = {lead_id: sorted(by_lead[lead_id], key=lambda e: (e.occurred_at, e.pk)) for lead_id in leads}
    late = [lead_id for lead_id in leads if _needs_replay(leads[lead_id], new_events[lead_id], version)]
    histories = _events_of(late)
    writes = []
    for lead_id in sorted(leads):
        lead = leads[lead_id]
        if lead_id in histories:
            state, changes = replayed_state(
                lead,
                histories[lead_id],
                version,
                catalog,
                now,
                StageChange.Reason.EVENT,
                new_events[lead_id][0],
            )
        else:
            state, outcome = load_state(lead, product_scores[lead_id]), scoring.Outcome()
            for event in new_events[lead_id]:
                scoring.apply_event(state, engine_input(event, catalog), spec, outcome)
            changes = _stage_rows(lead, outcome, version, new_events[lead_id])
        writes.append((lead, state, changes))
    # Product lines are looked up by name only when some lead holds a product score.
    states_store(writes, version, product_scores=product_scores)
    leads_appeared_at_lower({lead_id: events[0].occurred_at for lead_id, events in new_events.items()})
    accounts = {lead.account_id for lead in leads.values() if lead.account_id}
    if accounts:
        accounts_rollup(account_ids=accounts, as_of=now)
    return len(histories)


def _stage_rows(
    lead: LeadRow, outcome: scoring.Outcome, version, events: Sequence[NewEvent]
) -> list[StageChange]:
    if not outcome.stage_changes:
        return []
    campaigns = {e.pk: e.campaign for e in events}
    return [
        StageChange(
            lead_id=lead.pk,
            from_stage=c.from_stage,
            to_stage=c.to_stage,
            at=c.at,
            reason=c.reason,
            event_id=c.ref,
            campaign=campaigns.get(c.ref, ""),
            version=version,
        )
        for c in outcome.stage_changes
    ]


def _events_of(lead_ids: list[int]) -> dict[int, list[Event]]:
    """All events of the leads that need a replay, in one query, each list in replay order."""
    histories: dict[int, list[Event]] = {lead_id: [] for lead_id in lead_ids}
    if lead_ids:
        for event in Event.objects.filter(lead__in=lead_ids).order_by("lead_id", "occurred_at", "id"):
            histories[event.lead_id].append(event)
    return histories


def _needs_replay(lead: LeadRow, new_events: list[NewEvent], version) -> bool:
    if lead.scored_with_id != version.pk and lead.scored_with_id is not None:
        return True
    return lead.scored_at is not None and new_events[0].occurred_at < lead.scored_at


def identity_link(*, anonymous_id: str, lead: Lead) -> int:
    """Join an anonymous visitor's history to the lead it turned out to be (§10).

    An anonymousId already joined to another lead stays with it (IdentityConflict): anyone
    can send any anonymousId, and moving it would hand that person's next visits to someone else."""
    with transaction.atomic():
        identity, _ = Identity.objects.select_for_update().get_or_create(anonymous_id=anonymous_id)
        if identity.lead_id not in (None, lead.pk):
            raise IdentityConflict("anonymousId", "this anonymousId already belongs to another known lead")
        if identity.lead_id is None:
            Identity.objects.filter(pk=identity.pk).update(lead=lead)
        attached = Event.objects.filter(anonymous_id=anonymous_id, lead__isnull=True).update(lead=lead)
        if attached:
            lead_replay(
                lead=Lead.objects.select_for_update().get(pk=lead.pk), reason=StageChange.Reason.EVENT
            )
        return attached


def lead_adjust(*, lead: Lead, points: float, reason: str, by=None) -> Event | None:
    """A marketer's manual adjustment is an event too (§10), so replays keep it."""
    if not reason.strip():
        raise ValueError("reason: say why the score is adjusted.")
    return event_ingest(
        event=NewEvent(
            type="manual",
            occurred_at=timezone.now(),
            lead_id=lead.pk,
            source="manual",
            properties={"points": float(points), "reason": reason.strip(), "by": getattr(by, "username", "")},
        )
    )
