"""Writes on leads and events. Each public service is one transaction.

The score arithmetic lives in `leads.engine.scoring`; these functions only load its inputs
from the database and store its outputs."""
from __future__ import annotations

import json
import operator
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Iterable, Sequence

import psycopg
from django.apps import apps
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Count, FloatField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.engine import scoring
from leads.ingest.assets import ASSET_KIND_BY_EVENT_TYPE, AssetCatalog, asset_key_for
from leads.db.bulk import epoch_microseconds_sql
from leads.engine.compiled import instant
from leads.models import Account, Event, Identity, Lead, ProductLine, ProductScore, StageChange

ENGAGED_WINDOW = timedelta(days=30)


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


# --- the active model -----------------------------------------------------------------------

_spec_cache: dict[tuple, scoring.ModelSpec] = {}


def active_version():
    ModelVersion = apps.get_model("models_review", "ModelVersion")
    version = ModelVersion.objects.filter(is_active=True).select_related("scoring_model").first()
    if version is None:
        raise LookupError("No scoring model version is active. Run `manage.py model_import` or `manage.py start`.")
    return version


def spec_for(version) -> scoring.ModelSpec:
    # Published versions never change, so their spec can live for the whole process.
    if not version.is_published:
        return version.spec()
    # The publish instant guards against a reused primary key (a restored or flushed database).
    key = (version.pk, version.published_at)
    if key not in _spec_cache:
        _spec_cache[key] = version.spec()
    return _spec_cache[key]


# --- leads and accounts ---------------------------------------------------------------------


def lead_upsert(*, email: str | None = None, user_id: str | None = None, name: str | None = None,
                title: str | None = None, account: Account | None = None) -> Lead:
    """Find a lead by userId, then email; create it if neither is known. Given fields overwrite."""
    if not email and not user_id:
        raise ValueError("A lead needs an email or a user id.")
    email = email.strip().lower() if email else None
    lead = None
    if user_id:
        lead = Lead.objects.filter(user_id=user_id).first()
    if lead is None and email:
        lead = Lead.objects.filter(email=email).first()
    if lead is None:
        lead = Lead(email=email, user_id=user_id or None)
    changes = {"email": email, "user_id": user_id, "name": name, "title": title, "account": account}
    for attribute, value in changes.items():
        if value not in (None, ""):
            setattr(lead, attribute, value)
    lead.save()
    return lead


def account_upsert(*, domain: str, name: str = "", group_id: str = "") -> Account:
    domain = domain.strip().lower()
    account, created = Account.objects.get_or_create(domain=domain, defaults={"name": name or domain, "group_id": group_id})
    if not created and ((name and account.name != name) or (group_id and account.group_id != group_id)):
        account.name = name or account.name
        account.group_id = group_id or account.group_id
        account.save(update_fields=["name", "group_id"])
    return account


def accounts_rollup(*, account_ids: Iterable[int] | None = None, as_of: datetime | None = None) -> int:
    """Account score = sum of members' sales-readiness scores, members, engaged members and
    the sales-ready flag (§4), in UPDATE statements; all accounts or just the given ones."""
    as_of = as_of or timezone.now()
    threshold = spec_for(active_version()).account_sales_ready_score
    accounts = Account.objects.all() if account_ids is None else Account.objects.filter(pk__in=set(account_ids))
    members = Lead.objects.filter(account=OuterRef("pk")).order_by().values("account")
    with transaction.atomic():
        updated = accounts.update(
            score=Coalesce(Subquery(members.annotate(total=Sum("score")).values("total")), Value(0.0),
                           output_field=FloatField()),
            member_count=Coalesce(Subquery(members.annotate(n=Count("id")).values("n")), Value(0)),
            engaged_members=Coalesce(Subquery(
                members.filter(last_engaged_at__gte=as_of - ENGAGED_WINDOW).annotate(n=Count("id")).values("n")),
                Value(0)),
            score_updated_at=as_of,
        )
        accounts.filter(score__gte=threshold, is_sales_ready=False).update(is_sales_ready=True)
        accounts.filter(score__lt=threshold, is_sales_ready=True).update(is_sales_ready=False)
    return updated


# --- loading and storing engine state ---------------------------------------------------


def engine_inputs(events: Iterable[Event], catalog: AssetCatalog) -> list[scoring.EventInput]:
    return [engine_input(event, catalog) for event in events]


def engine_input(event: Event, catalog: AssetCatalog) -> scoring.EventInput:
    info = catalog.lookup(ASSET_KIND_BY_EVENT_TYPE.get(event.type), event.asset_key, event.url)
    return scoring.EventInput(
        occurred_at=event.occurred_at, type=event.type, name=event.name, url=event.url,
        asset_key=event.asset_key or None, asset_sales_ready=info.sales_ready,
        product_line=info.product_line, target_stage=info.target_stage,
        percent=event.percent, manual_points=event.manual_points, ref=event.pk,
    )


def load_state(lead: ScoredLead, product_scores: Iterable[ProductScore]) -> scoring.LeadState:
    memory = lead.engine_state or {}
    return scoring.LeadState(
        sales=scoring.ScoreState(lead.score, lead.scored_at, lead.last_engaged_at),
        products={
            ps.product_line.name: scoring.ScoreState(ps.score, ps.scored_at, ps.last_engaged_at)
            for ps in product_scores
        },
        stage=lead.stage,
        video_max_percent=dict(memory.get("video_max_percent", {})),
        cap_day=date.fromisoformat(memory["cap_day"]) if memory.get("cap_day") else None,
        cap_counts={int(k): v for k, v in memory.get("cap_counts", {}).items()},
        tallies={int(k): v for k, v in memory.get("tallies", {}).items()},
    )


def settle(state: scoring.LeadState, now: datetime, spec: scoring.ModelSpec) -> None:
    """Advance every score to `now`, then date the state at the last instant anything
    changed (latest event or decay tick). Scores are flat between ticks, so this is the
    same state, and fewer late events need a replay."""
    last_event_at = state.sales.scored_at  # read before advancing moves it to `now`
    scoring.advance_lead(state, now, spec)
    instants = [last_event_at, scoring.last_tick_at_or_before(state.sales, now, spec.decay)]
    for product in state.products.values():
        instants.append(scoring.last_tick_at_or_before(product, now, spec.decay))
    effective = max((i for i in instants if i is not None and i <= now), default=None)
    if effective is None:
        return
    # No tick of any score falls in (effective, now], so every score is valid at `effective`.
    state.sales.scored_at = effective
    for product in state.products.values():
        product.scored_at = effective


class LeadRow:
    """The columns of a lead that scoring reads and writes, named as on `Lead`, without a
    model instance: a batch locks and rewrites hundreds of leads, and building models
    (and loading timestamps through Django's pure-Python adapter) cost more than the SQL."""

    __slots__ = ("pk", "account_id", "score", "scored_at", "last_engaged_at", "engine_state", "scored_with_id",
                 "stage", "stage_changed_at", "is_cold", "cold_since", "updated_at")

    def __init__(self, pk, account_id, score, scored_at, last_engaged_at, engine_state, scored_with_id, stage,
                 stage_changed_at, is_cold, cold_since):
        self.pk, self.account_id, self.score, self.scored_at = pk, account_id, score, scored_at
        self.last_engaged_at, self.engine_state, self.scored_with_id = last_engaged_at, engine_state, scored_with_id
        self.stage, self.stage_changed_at, self.is_cold, self.cold_since = stage, stage_changed_at, is_cold, cold_since
        self.updated_at = None

    @property
    def id(self) -> int:
        return self.pk


# Lead and LeadRow alike: both carry these attribute names.
ScoredLead = Lead | LeadRow


def store_state(lead: Lead, state: scoring.LeadState, version, *, changes: Sequence[StageChange] = (),
                product_lines: dict[str, ProductLine] | None = None) -> None:
    existing = list(ProductScore.objects.filter(lead=lead).select_related("product_line"))
    states_store([(lead, state, list(changes))], version, product_lines=product_lines, product_scores={lead.pk: existing})


def states_store(writes: Sequence[tuple[ScoredLead, scoring.LeadState, list[StageChange]]], version, *,
                 product_lines: dict[str, ProductLine] | None = None,
                 product_scores: dict[int, list[ProductScore]]) -> None:
    """Persist many leads' engine states in a handful of queries (the ingest hot path).

    `product_scores` are each lead's existing rows, read under the same row locks."""
    if not writes:
        return
    now = timezone.now()
    for lead, state, changes in writes:
        _state_onto_lead(lead, state, version, changes, now)
    _update_lead_states([lead for lead, _, _ in writes])
    StageChange.objects.bulk_create([change for _, _, changes in writes for change in changes], batch_size=500)
    _store_product_scores(writes, product_lines if product_lines is not None else {}, product_scores)


# What scoring reads and writes, in LeadRow's order.
_LEAD_SCORING_FIELDS = ["id", "account_id", "score", "scored_at", "last_engaged_at", "engine_state", "scored_with_id",
                        "stage", "stage_changed_at", "is_cold", "cold_since"]
_LEAD_STATE_FIELDS = ["score", "scored_at", "last_engaged_at", "engine_state", "scored_with", "updated_at", "stage",
                      "stage_changed_at", "is_cold", "cold_since"]


def _update_lead_states(leads: Sequence[ScoredLead]) -> None:
    """Write many leads' score columns at once. Django's bulk_update builds a CASE per
    field and row, which costs seconds for a batch of 500: PostgreSQL gets one UPDATE
    joined to a JSON recordset, SQLite an in-process executemany."""
    fields = [Lead._meta.get_field(name) for name in _LEAD_STATE_FIELDS]
    table, quote = connection.ops.quote_name(Lead._meta.db_table), connection.ops.quote_name
    if connection.vendor == "postgresql":
        assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
        with _bound_cursor() as cursor:
            cursor.execute(f"UPDATE {table} AS l SET {assignments} FROM {_recordset(fields + [Lead._meta.pk])} "
                           f"WHERE l.id = v.id", [_records(leads, fields + [Lead._meta.pk])])
        return
    adapters = [(field.attname, _column_adapter(field)) for field in fields]
    rows = [[adapt(getattr(lead, attname)) for attname, adapt in adapters] + [lead.pk] for lead in leads]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", rows)


def _bound_cursor():
    """A PostgreSQL cursor that sends parameters apart from the SQL. Django's cursors write
    them into the SQL text, so a batch's 200 KB JSON recordset would be escaped by the
    driver and scanned again by PostgreSQL's parser."""
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    return connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)


def _recordset(fields) -> str:
    # One JSON parameter instead of thousands: PostgreSQL parses it faster than the
    # driver adapts per-column arrays.
    columns = ", ".join(f"{connection.ops.quote_name(f.column)} {f.db_type(connection)}" for f in fields)
    return f"jsonb_to_recordset(%s::jsonb) AS v({columns})"


def _records(objects, fields) -> str:
    columns, values = [f.column for f in fields], operator.attrgetter(*(f.attname for f in fields))
    # Datetimes are converted here rather than by a `default=` hook, which costs a call
    # from the C encoder back into Python for every one of them.
    instants = [index for index, f in enumerate(fields) if isinstance(f, models.DateTimeField)]
    records = []
    for obj in objects:
        row = list(values(obj))
        for index in instants:
            if row[index] is not None:
                row[index] = row[index].isoformat()
        records.append(dict(zip(columns, row)))
    return json.dumps(records)


def _column_adapter(field):
    # Plain values the driver takes as they are; only JSON and datetimes need preparing.
    if isinstance(field, models.JSONField):
        return json.dumps
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    return lambda value: value


def _state_onto_lead(lead: ScoredLead, state: scoring.LeadState, version, changes: Sequence[StageChange], now: datetime) -> None:
    engaged_again = state.sales.last_engaged_at != lead.last_engaged_at
    lead.score = state.sales.score
    lead.scored_at = max(filter(None, [state.sales.scored_at, *(p.scored_at for p in state.products.values())]), default=None)
    lead.last_engaged_at = state.sales.last_engaged_at
    lead.engine_state = {
        "video_max_percent": state.video_max_percent,
        "cap_day": state.cap_day.isoformat() if state.cap_day else None,
        "cap_counts": {str(k): v for k, v in state.cap_counts.items()},
        "tallies": {str(k): v for k, v in state.tallies.items()},
    }
    lead.scored_with_id = version.pk
    lead.updated_at = now
    if lead.stage != state.stage:
        lead.stage = state.stage
        lead.stage_changed_at = changes[-1].at if changes else lead.scored_at
    if engaged_again and lead.is_cold:
        lead.is_cold, lead.cold_since = False, None  # new engagement ends a cold spell (§6)


def _store_product_scores(writes, product_lines: dict[str, ProductLine],
                          product_scores: dict[int, list[ProductScore]]) -> None:
    missing = {name for _, state, _ in writes for name in state.products if name not in product_lines}
    if missing:
        product_lines.update({pl.name: pl for pl in ProductLine.objects.filter(name__in=missing)})
    rows, stale = [], []
    for lead, state, _ in writes:
        rows += [
            ProductScore(lead_id=lead.pk, product_line=product_lines[name], score=s.score, scored_at=s.scored_at,
                         last_engaged_at=s.last_engaged_at)
            for name, s in state.products.items() if name in product_lines
        ]
        stale += [ps.pk for ps in product_scores.get(lead.pk, ()) if ps.product_line.name not in state.products]
    if rows:
        ProductScore.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["lead", "product_line"],
            update_fields=["score", "scored_at", "last_engaged_at"], batch_size=500,
        )
    if stale:
        ProductScore.objects.filter(pk__in=stale).delete()


def _stage_rows(lead: ScoredLead, outcome: scoring.Outcome, version, events: Sequence[NewEvent]) -> list[StageChange]:
    if not outcome.stage_changes:
        return []
    campaigns = {e.pk: e.campaign for e in events}
    return [
        StageChange(lead_id=lead.pk, from_stage=c.from_stage, to_stage=c.to_stage, at=c.at, reason=c.reason,
                    event_id=c.ref, campaign=campaigns.get(c.ref, ""), version=version)
        for c in outcome.stage_changes
    ]


# --- replay ---------------------------------------------------------------------------------


def lead_events(lead: Lead):
    return Event.objects.filter(lead=lead).order_by("occurred_at", "id")


def lead_replay(*, lead: Lead, version=None, reason: str = StageChange.Reason.RECALCULATION,
                trigger: Event | None = None, now: datetime | None = None, catalog: AssetCatalog | None = None) -> None:
    """Recompute one lead from all its events (§3). Logs one stage change if the stage moved."""
    version = version or active_version()
    catalog, now = catalog or AssetCatalog.load(), now or timezone.now()
    state, changes = _replayed_state(lead, list(lead_events(lead)), version, catalog, now, reason, trigger)
    store_state(lead, state, version, changes=changes)


def _replayed_state(lead: ScoredLead, events: list[Event], version, catalog: AssetCatalog, now: datetime, reason: str,
                    trigger: Event | NewEvent | None) -> tuple[scoring.LeadState, list[StageChange]]:
    spec = spec_for(version)
    state, _ = scoring.replay(engine_inputs(events, catalog), spec)
    settle(state, max(now, state.sales.scored_at or now), spec)
    changes = []
    if state.stage != lead.stage and lead.stage not in scoring.SALES_OWNED_STAGES:
        changes.append(StageChange(
            lead_id=lead.pk, from_stage=lead.stage, to_stage=state.stage, at=now, reason=reason,
            event_id=trigger.pk if trigger else None, campaign=trigger.campaign if trigger else "", version=version,
        ))
    elif lead.stage in scoring.SALES_OWNED_STAGES:
        state.stage = lead.stage
    return state, changes


# --- ingestion ------------------------------------------------------------------------------


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
    known = dict(Identity.objects.filter(anonymous_id__in=pending, lead__isnull=False).values_list("anonymous_id", "lead_id"))
    for event in events:
        if event.lead_id is None and event.anonymous_id in known:
            event.lead_id = known[event.anonymous_id]


_EVENT_INSERT_FIELDS = ["idempotency_key", "lead", "anonymous_id", "type", "name", "asset_key", "url", "occurred_at",
                        "received_at", "campaign", "properties", "source"]


def _insert_new_events(events: list[NewEvent], now: datetime) -> list[NewEvent]:
    """Store the events whose idempotency key is new; returns them with their ids set."""
    if connection.vendor == "postgresql":
        return _insert_new_events_postgresql(events, now)
    seen = set(Event.objects.filter(idempotency_key__in=[e.idempotency_key for e in events])
               .values_list("idempotency_key", flat=True))
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
    records = json.dumps([
        {"idempotency_key": e.idempotency_key, "lead_id": e.lead_id, "anonymous_id": e.anonymous_id, "type": e.type,
         "name": e.name, "asset_key": e.asset_key, "url": e.url, "occurred_at": e.occurred_at.isoformat(),
         "received_at": received_at, "campaign": e.campaign, "properties": e.properties, "source": e.source}
        for e in events
    ])
    with _bound_cursor() as cursor:
        cursor.execute(f"INSERT INTO {quote(Event._meta.db_table)} ({names}) SELECT {names} FROM {_recordset(fields)} "
                       f"ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, idempotency_key", [records])
        ids = dict((key, pk) for pk, key in cursor.fetchall())
    fresh = [event for event in events if event.idempotency_key in ids]
    for event in fresh:
        event.pk = ids[event.idempotency_key]
    return fresh


def _event_row(event: NewEvent) -> Event:
    return Event(
        idempotency_key=event.idempotency_key, lead_id=event.lead_id, anonymous_id=event.anonymous_id,
        type=event.type, name=event.name, url=event.url, asset_key=event.asset_key, occurred_at=event.occurred_at,
        campaign=event.campaign, properties=event.properties, source=event.source,
    )


def _score_leads(by_lead: dict[int, list[NewEvent]], catalog: AssetCatalog, now: datetime) -> int:
    """Score every touched lead once, in a fixed number of queries per batch. Rows are
    locked in id order so concurrent batches wait for each other instead of deadlocking."""
    version = active_version()
    spec = spec_for(version)
    leads = {lead.pk: lead for lead in _locked_lead_rows(list(by_lead))}
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
            state, changes = _replayed_state(lead, histories[lead_id], version, catalog, now,
                                             StageChange.Reason.EVENT, new_events[lead_id][0])
        else:
            state, outcome = load_state(lead, product_scores[lead_id]), scoring.Outcome()
            for event in new_events[lead_id]:
                scoring.apply_event(state, engine_input(event, catalog), spec, outcome)
            changes = _stage_rows(lead, outcome, version, new_events[lead_id])
        writes.append((lead, state, changes))
    # Product lines are looked up by name only when some lead holds a product score.
    states_store(writes, version, product_scores=product_scores)
    accounts = {lead.account_id for lead in leads.values() if lead.account_id}
    if accounts:
        accounts_rollup(account_ids=accounts, as_of=now)
    return len(histories)


def _locked_lead_rows(lead_ids: list[int]) -> list[LeadRow]:
    """Lock the leads in id order and read their scoring columns."""
    if connection.vendor != "postgresql":
        locked = Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk")
        return [LeadRow(*row) for row in locked.values_list(*_LEAD_SCORING_FIELDS)]
    # Timestamps travel as integer microseconds since the epoch: exact, and converted in C.
    columns = ", ".join(epoch_microseconds_sql(name) if name in _TIMESTAMP_COLUMNS else name
                        for name in _LEAD_SCORING_FIELDS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM {Lead._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
                       [lead_ids])
        rows = cursor.fetchall()
    return [LeadRow(pk, account_id, score, instant(scored_at), instant(last_engaged_at),
                    json.loads(engine_state), scored_with_id, stage, instant(stage_changed_at), is_cold,
                    instant(cold_since))
            for (pk, account_id, score, scored_at, last_engaged_at, engine_state, scored_with_id, stage,
                 stage_changed_at, is_cold, cold_since) in rows]


_TIMESTAMP_COLUMNS = {"scored_at", "last_engaged_at", "stage_changed_at", "cold_since"}


def _events_of(lead_ids: list[int]) -> dict[int, list[Event]]:
    """All events of the leads that need a replay, in one query, each list in replay order."""
    histories: dict[int, list[Event]] = {lead_id: [] for lead_id in lead_ids}
    if lead_ids:
        for event in Event.objects.filter(lead__in=lead_ids).order_by("lead_id", "occurred_at", "id"):
            histories[event.lead_id].append(event)
    return histories


def _needs_replay(lead: ScoredLead, new_events: list[NewEvent], version) -> bool:
    if lead.scored_with_id != version.pk and lead.scored_with_id is not None:
        return True
    return lead.scored_at is not None and new_events[0].occurred_at < lead.scored_at


def identity_link(*, anonymous_id: str, lead: Lead) -> int:
    """Join an anonymous visitor's history to the lead it turned out to be (§10)."""
    with transaction.atomic():
        Identity.objects.update_or_create(anonymous_id=anonymous_id, defaults={"lead": lead})
        attached = Event.objects.filter(anonymous_id=anonymous_id, lead__isnull=True).update(lead=lead)
        if attached:
            lead_replay(lead=Lead.objects.select_for_update().get(pk=lead.pk), reason=StageChange.Reason.EVENT)
        return attached


def lead_adjust(*, lead: Lead, points: float, reason: str, by=None) -> Event | None:
    """A marketer's manual adjustment is an event too (§10), so replays keep it."""
    if not reason.strip():
        raise ValueError("reason: say why the score is adjusted.")
    return event_ingest(event=NewEvent(
        type="manual", occurred_at=timezone.now(), lead_id=lead.pk, source="manual",
        properties={"points": float(points), "reason": reason.strip(), "by": getattr(by, "username", "")},
    ))


def lead_set_stage(*, lead: Lead, stage: int, by=None, note: str = "") -> None:
    """Reps and CRMs move leads into the sales-owned stages (§5)."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.stage == stage:
            return
        now = timezone.now()
        StageChange.objects.create(lead=lead, from_stage=lead.stage, to_stage=stage, at=now,
                                   reason=StageChange.Reason.MANUAL, note=note[:300] or getattr(by, "username", ""))
        lead.stage, lead.stage_changed_at = stage, now
        lead.save(update_fields=["stage", "stage_changed_at", "updated_at"])
