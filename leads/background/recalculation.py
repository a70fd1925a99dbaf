"""Replaying many leads at once (recalculation, §7) with the results of `lead_replay`.

`lead_replay` loads one lead's events and writes its row, product scores and stage change
one query at a time; over a million leads that is millions of round trips. Here a chunk
of leads (an id range) is read with one query for the leads and one for all their events
in (lead, time, id) order, as plain tuples. Score-mode models replay them through
`bulk_replay` (the engine's arithmetic compiled for bulk work); content-mode models go
through `scoring.replay` and `engine.state.settle` as `lead_replay` does. The results are
written with one UPDATE … FROM, one product-score delete + insert and one stage-change
insert (COPY on PostgreSQL).

On PostgreSQL, outside a caller's transaction, a whole recalculation instead reads every
event in one sorted stream (see the section below), replayed by a producer process and
written by two sessions side by side: a million leads in under two minutes on two cores."""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import chain, count, groupby, islice
from operator import itemgetter
from typing import NamedTuple

import psycopg
from django.conf import settings
from django.db import connection, transaction

from leads.db.bulk import epoch_microseconds_sql, insert_rows, update_rows
from leads.db.processes import inherited_connections_release
from leads.db.rows import LEAD_STATE_FIELDS
from leads.engine import compiled, scoring
from leads.engine.state import cold_after_engagement, settle, stage_after_replay
from leads.ingest.assets import AssetCatalog
from leads.models import Event, Lead, ProductLine, ProductScore, StageChange
from leads.services import engine_input, spec_for

PRODUCT_FIELDS = ("lead", "product_line", "score", "scored_at", "last_engaged_at")
CHANGE_FIELDS = ("lead", "from_stage", "to_stage", "at", "reason", "version")
EVENT_COLUMNS = ("lead_id", "id", "type", "name", "url", "asset_key", "occurred_at", "properties")
# The upper id of an open-ended range (last_id None): above any bigint id a lead gets.
OPEN_RANGE_END = 2**62


class EventRow:
    """The fields of an Event `engine_input` reads, without building model instances."""

    __slots__ = ("pk", "type", "name", "url", "asset_key", "occurred_at", "properties")

    def __init__(self, pk, type, name, url, asset_key, occurred_at, properties):
        self.pk, self.type, self.name, self.url = pk, type, name, url
        self.asset_key, self.occurred_at, self.properties = asset_key, occurred_at, properties or {}

    percent = Event.percent
    manual_points = Event.manual_points


class LockedLead(NamedTuple):
    """What a chunk reads of each lead it locks before writing its replayed state."""

    pk: int
    stage: int
    last_engaged_us: int | None
    is_cold: bool
    cold_since: object  # a datetime, or ISO text on the streamed path (only written back)
    stage_changed_at: object


@dataclass
class ChunkResult:
    leads: int
    last_lead_id: int


def replay_all(
    *, version, after_id: int, as_of: datetime, catalog: AssetCatalog, chunk_size: int, on_written=None
) -> int:
    """Replay every lead after `after_id`, chunk by chunk in id order; each chunk commits
    with its `on_written` mark. Returns the last lead id written (or `after_id`)."""
    # The stream and the writers are sessions of their own: they see only committed data,
    # so a caller's open transaction keeps the work in its session.
    if (
        connection.vendor == "postgresql"
        and not connection.in_atomic_block
        and compiled.supports(spec_for(version))
    ):
        after_id = _replay_streamed(
            version=version,
            after_id=after_id,
            as_of=as_of,
            catalog=catalog,
            chunk_size=chunk_size,
            on_written=on_written,
        )
    # Leads created while the stream ran (or every lead, off the streamed path).
    while chunk := replay_chunk(
        version=version,
        after_id=after_id,
        limit=chunk_size,
        as_of=as_of,
        catalog=catalog,
        on_written=on_written,
    ):
        after_id = chunk.last_lead_id
    return after_id


def replay_chunk(
    *,
    version,
    after_id: int,
    limit: int | None,
    as_of: datetime,
    catalog: AssetCatalog,
    on_written=None,
    up_to_id: int | None = None,
) -> ChunkResult | None:
    """Replay the next `limit` leads after `after_id` (and up to `up_to_id`, when given) in one
    transaction. None when none are left.

    `on_written(result)` runs inside the same transaction, so a progress mark commits with
    the scores it describes (the crash-safe resume point)."""
    spec = spec_for(version)
    in_range = {"pk__gt": after_id, **({"pk__lte": up_to_id} if up_to_id is not None else {})}
    with transaction.atomic():
        leads = list(
            Lead.objects.select_for_update()
            .filter(**in_range)
            .order_by("pk")
            .values_list("pk", "stage", "last_engaged_at", "is_cold", "cold_since", "stage_changed_at")[
                :limit
            ]
        )
        if not leads:
            return None
        states = _replayed_states(spec, catalog, leads[0][0], leads[-1][0], as_of)
        locked = [LockedLead(pk, stage, _us(engaged), *rest) for pk, stage, engaged, *rest in leads]
        return _write_chunk(version, locked, states, as_of, on_written)


def _write_chunk(version, leads: list[LockedLead], state_of, as_of: datetime, on_written) -> ChunkResult:
    """Write the `compiled.Written` states of locked `leads`: lead rows, product scores, stage changes."""
    lines = {pl.name: pl.pk for pl in ProductLine.objects.all()}
    lead_rows, product_rows, changes = [], [], []
    for lead in leads:
        state = state_of(lead.pk)
        new_stage, change_at = stage_after_replay(lead.stage, state.stage), lead.stage_changed_at
        if new_stage != lead.stage:
            changes.append(
                (lead.pk, lead.stage, new_stage, as_of, StageChange.Reason.RECALCULATION, version.pk)
            )
            change_at = as_of
        is_cold, cold_since = cold_after_engagement(
            engaged_again=state.last_engaged_us != lead.last_engaged_us,
            is_cold=lead.is_cold,
            cold_since=lead.cold_since,
        )
        lead_rows.append(
            (
                lead.pk,
                state.score,
                state.scored_at,
                state.last_engaged_at,
                state.engine_state,
                version.pk,
                new_stage,
                change_at,
                is_cold,
                cold_since,
            )
        )
        product_rows.extend(
            (lead.pk, lines[name], score, scored_at, engaged_at)
            for name, score, scored_at, engaged_at in state.products
            if name in lines
        )
    first_id, last_id = leads[0].pk, leads[-1].pk
    update_rows(Lead, LEAD_STATE_FIELDS, lead_rows)
    ProductScore.objects.filter(lead_id__gte=first_id, lead_id__lte=last_id).delete()
    insert_rows(ProductScore, PRODUCT_FIELDS, product_rows)
    insert_rows(StageChange, CHANGE_FIELDS, changes)
    result = ChunkResult(leads=len(leads), last_lead_id=last_id)
    if on_written is not None:
        on_written(result)
    return result


# --- PostgreSQL: one sorted stream of every event ------------------------------------------
#
# Events arrive in time order, so one lead's events lie on as many heap pages as it has
# events; reading them chunk by chunk through the (lead, time) index visits a random page
# per event, which over 10,000,000 events costs minutes. One sequential scan sorted by
# (lead, time, id) costs seconds, and PostgreSQL sorts it with parallel workers.
#
# A producer process reads the stream in one snapshot (REPEATABLE READ) on a connection of
# its own and replays it, while this process writes the chunks: replaying and writing each
# take a core. Every write of an event also updates its lead's row in the same transaction
# (ingest, identify), so a lead whose row version (`xmin`) differs between the snapshot and
# the locked row has events the stream did not see: it is replayed again from a fresh read,
# inside the chunk's transaction.

STREAM_FETCH = 20_000
WRITERS = 2  # this machine's cores: the producer replays while two database sessions write
PRODUCER_POLL = 1.0  # seconds between checks that the producer is still alive
TURN_PATIENCE = 5.0  # seconds a written chunk waits, locks held, for the chunk before it


@dataclass
class StreamedChunk:
    number: int  # chunks commit in this order, so the run's resume point only moves forward
    after_id: int
    last_lead_id: int
    row_versions: dict[int, str]  # lead id → xmin in the stream's snapshot
    states: dict[int, compiled.Written]


class StreamDone:
    """The producer's last message."""


def _replay_streamed(
    *, version, after_id: int, as_of: datetime, catalog: AssetCatalog, chunk_size: int, on_written
) -> int:
    model = compiled_model(spec_for(version), catalog)
    context = multiprocessing.get_context("fork")  # the model and catalogue are inherited, not pickled
    chunks = context.Queue(maxsize=2 * WRITERS)
    producer = context.Process(
        target=_produce,
        name="recalculation-stream",
        daemon=True,
        args=(connection.get_connection_params(), model, after_id, as_of, chunk_size, chunks),
    )
    turns = _Turns(after_id)
    writers = [
        threading.Thread(
            target=_writer,
            name=f"recalculation-writer-{n}",
            args=(version, chunks, producer, turns, model, as_of, on_written),
        )
        for n in range(WRITERS)
    ]
    producer.start()
    try:
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
    finally:
        if producer.is_alive():
            producer.terminate()
        producer.join()
    if turns.error is not None:
        raise turns.error
    return turns.last_lead_id


class _Turns:
    """Chunk commit order. Writers work on chunks side by side (the database's share of a
    chunk is most of its cost), and each commits after the one before it."""

    def __init__(self, after_id: int):
        self.next, self.last_lead_id, self.error = 0, after_id, None
        self._changed = threading.Condition()

    def wait(self, number: int, timeout: float | None = None) -> bool:
        with self._changed:
            mine = self._changed.wait_for(lambda: self.next == number or self.error is not None, timeout)
            if self.error is not None:
                raise _Aborted
            return mine

    def done(self, chunk: StreamedChunk) -> None:
        with self._changed:
            self.next, self.last_lead_id = chunk.number + 1, chunk.last_lead_id
            self._changed.notify_all()

    def fail(self, error: BaseException) -> None:
        with self._changed:
            self.error = self.error or error
            self._changed.notify_all()


class _Aborted(Exception):
    """Another writer failed: this one stops, its chunk rolled back."""


class _TurnTimeout(Exception):
    """Waited too long for the chunk before this one while holding this chunk's locks."""


def _writer(version, chunks, producer, turns: _Turns, model, as_of: datetime, on_written) -> None:
    try:
        while (chunk := _next_chunk(chunks, producer, turns)) is not None:
            if isinstance(chunk, StreamDone):
                chunks.put(chunk)  # for the other writers
                return
            _write_in_turn(version, chunk, turns, model, as_of, on_written)
    except _Aborted:
        pass
    except BaseException as error:
        turns.fail(error)
    finally:
        connection.close()  # this thread's own connection


def _write_in_turn(version, chunk: StreamedChunk, turns: _Turns, model, as_of: datetime, on_written) -> None:
    def mark(result: ChunkResult) -> None:  # inside the chunk's transaction, after its writes
        if not turns.wait(chunk.number, timeout=TURN_PATIENCE):
            raise _TurnTimeout
        if on_written is not None:
            on_written(result)

    while True:
        try:
            _write_streamed(version, chunk, model, as_of, mark)
            break
        except _TurnTimeout:
            # The chunk before may be waiting on an ingest that waits on a lead this chunk
            # locked; roll back to free it, wait for the turn unlocked, then write again.
            turns.wait(chunk.number)
    turns.wait(chunk.number)  # a chunk with no leads left still keeps its place
    turns.done(chunk)


def _next_chunk(chunks, producer, turns: _Turns):
    while turns.error is None:
        try:
            item = chunks.get(timeout=PRODUCER_POLL)
        except queue.Empty:
            if not producer.is_alive():
                raise RuntimeError(
                    f"The recalculation stream stopped (exit code {producer.exitcode})."
                ) from None
            continue
        if isinstance(item, Exception):
            raise item
        return item
    return None


def _produce(params: dict, model, after_id: int, as_of: datetime, chunk_size: int, chunks) -> None:
    """The producer process. It lets go of the database sockets it inherited: had the parent
    been killed, they would keep its session, and the locks of its open chunk, alive."""
    parent = os.getppid()
    inherited_connections_release()

    def hand_over(item) -> None:
        while True:
            try:
                return chunks.put(item, timeout=PRODUCER_POLL)
            except queue.Full:
                if os.getppid() != parent:
                    os._exit(1)  # the writing process is gone: nobody will read this

    try:
        with psycopg.connect(**params) as stream:
            stream.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            for chunk in _streamed_chunks(stream, model, after_id, as_of, chunk_size):
                hand_over(chunk)
        hand_over(StreamDone())
    except (
        Exception
    ) as error:  # raised again in the writing process, by message (a driver error may not pickle)
        hand_over(RuntimeError(f"Recalculation stream failed: {error!r}"))


def _streamed_chunks(stream, model, after_id: int, as_of: datetime, chunk_size: int):
    leads = stream.cursor(name="recalculation_leads")
    leads.itersize = STREAM_FETCH
    leads.execute("SELECT id, xmin::text FROM leads_lead WHERE id > %s ORDER BY id", [after_id])
    groups = sorted_events(stream, after_id)
    pending = next(groups, None)
    for number in count():
        if not (batch := list(islice(leads, chunk_size))):
            return
        last_id, states = batch[-1][0], {}
        while pending is not None and pending[0] <= last_id:
            states[pending[0]] = compiled.replay_formatted(pending[1], model, as_of)
            pending = next(groups, None)
        yield StreamedChunk(number, after_id, last_id, dict(batch), states)
        after_id = last_id


def sorted_events(stream, after_id: int, last_id: int | None = None):
    """Every event of the leads in (after_id, last_id] (open-ended when None) as one
    sequential scan sorted by (lead, time, id), read on `stream` (a psycopg connection of its
    own, in a transaction): `groupby` pairs of (lead id, its `compiled.Row`s)."""
    stream.execute("SET LOCAL enable_indexscan = off")
    stream.execute("SET LOCAL enable_bitmapscan = off")
    stream.execute(f"SET LOCAL work_mem = '{int(settings.STREAM_WORK_MEM_MB)}MB'")
    events = stream.cursor(name="sorted_events")
    events.itersize = STREAM_FETCH
    upper = last_id if last_id is not None else OPEN_RANGE_END
    events.execute(_events_sql("lead_id > %s AND lead_id <= %s"), [after_id, upper])
    return groupby(events, key=itemgetter(0))


def _write_streamed(version, chunk: StreamedChunk, model, as_of: datetime, on_written) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        # Instants that are only written back travel as text: Django's time-zone-aware loader
        # parses each timestamp in Python, a million times per run.
        cursor.execute(
            f"""SELECT id, stage, {epoch_microseconds_sql("last_engaged_at")}, is_cold,
                                  cold_since::text, stage_changed_at::text, xmin::text
                             FROM leads_lead WHERE id > %s AND id <= %s ORDER BY id FOR UPDATE""",
            [chunk.after_id, chunk.last_lead_id],
        )
        locked = [(LockedLead(*row[:6]), row[6]) for row in cursor.fetchall()]
        if not locked:
            return
        changed = [lead.pk for lead, row_version in locked if chunk.row_versions.get(lead.pk) != row_version]
        states = chunk.states
        if changed:
            states = {
                **states,
                **dict.fromkeys(changed),
                **_compiled_states(model, as_of, _events_sql("lead_id = ANY(%s)"), [changed]),
            }
        empty = compiled.replay_formatted((), model, as_of)
        _write_chunk(
            version, [lead for lead, _ in locked], lambda pk: states.get(pk) or empty, as_of, on_written
        )


def _replayed_states(spec, catalog, first_id: int, last_id: int, as_of: datetime):
    """A lookup lead id → replayed and settled state, for the leads in [first_id, last_id]."""
    if not compiled.supports(spec):
        events = _events_by_lead(first_id, last_id)
        return lambda pk: compiled.written(_replayed(events.get(pk, ()), spec, catalog, as_of))
    model = compiled_model(spec, catalog)
    states = _compiled_states(
        model, as_of, _events_sql("lead_id >= %s AND lead_id <= %s"), [first_id, last_id]
    )
    return lambda pk: states.get(pk) or _replay_for_writing((), model, as_of)


def _compiled_states(model, as_of: datetime, sql: str, params) -> dict[int, compiled.Written]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = iter(lambda: cursor.fetchmany(STREAM_FETCH), [])
        return {
            lead_id: _replay_for_writing(group, model, as_of)
            for lead_id, group in groupby(chain.from_iterable(rows), key=itemgetter(0))
        }


def _replay_for_writing(rows, model, as_of: datetime) -> compiled.Written:
    # COPY (PostgreSQL) takes text as it is; SQLite's executemany adapts Python values per field.
    if connection.vendor == "postgresql":
        return compiled.replay_formatted(rows, model, as_of)
    return compiled.written(compiled.replay(rows, model, as_of))


def replayed_in_range(
    *, spec: scoring.ModelSpec, catalog: AssetCatalog, after_id: int, last_id: int | None, as_of: datetime
) -> dict[int, scoring.LeadState]:
    """Every lead with events in the id range (after_id, last_id] (open-ended when None),
    replayed and settled at `as_of`; each event read once, through the compiled replay where
    the model allows it. Leads without events are not listed: their state is the empty one."""
    upper = last_id if last_id is not None else OPEN_RANGE_END
    if not compiled.supports(spec):
        events = _events_by_lead(after_id + 1, upper)
        return {lead_id: _replayed(rows, spec, catalog, as_of) for lead_id, rows in events.items()}
    model = compiled_model(spec, catalog)
    with connection.cursor() as cursor:
        cursor.execute(_events_sql("lead_id > %s AND lead_id <= %s"), [after_id, upper])
        rows = chain.from_iterable(iter(lambda: cursor.fetchmany(STREAM_FETCH), []))
        return {
            lead_id: compiled.replay(group, model, as_of)
            for lead_id, group in groupby(rows, key=itemgetter(0))
        }


def _events_by_lead(first_id: int, last_id: int) -> dict[int, list[EventRow]]:
    rows = (
        Event.objects.filter(lead_id__gte=first_id, lead_id__lte=last_id)
        .order_by("lead_id", "occurred_at", "id")
        .values_list(*EVENT_COLUMNS)
    )
    return {
        lead_id: [EventRow(*row[1:]) for row in group] for lead_id, group in groupby(rows, key=itemgetter(0))
    }


def _replayed(events, spec: scoring.ModelSpec, catalog: AssetCatalog, as_of: datetime) -> scoring.LeadState:
    state, _ = scoring.replay((engine_input(event, catalog) for event in events), spec)
    settle(state, max(as_of, state.sales.scored_at or as_of), spec)
    return state


@lru_cache(maxsize=4)
def compiled_model(spec: scoring.ModelSpec, catalog: AssetCatalog) -> compiled.CompiledModel:
    # One per (version, catalogue) for the whole run, so each event shape is matched once.
    return compiled.CompiledModel(spec, catalog)


def _events_sql(where: str) -> str:
    """`compiled.Row`s of the events `where` selects, in (lead, time, id) order, with
    instants as integer microseconds and the two numeric properties read in SQL."""
    return f"""SELECT lead_id, {epoch_microseconds_sql("occurred_at")}, type, name, asset_key, url,
                      {_number_sql("percent")}, {_number_sql("points")}
                 FROM leads_event WHERE {where}
                ORDER BY lead_id, occurred_at, id"""


def _number_sql(key: str) -> str:
    """The property as `Event.percent`/`Event.manual_points` read it: a JSON number (or
    boolean, which Python counts as a number) as a float, anything else NULL."""
    if connection.vendor == "postgresql":
        value = f"properties -> '{key}'"
        return (
            f"CASE jsonb_typeof({value}) WHEN 'number' THEN ({value})::text::float8 "
            f"WHEN 'boolean' THEN CASE WHEN ({value})::boolean THEN 1.0 ELSE 0.0 END END"
        )
    path = f"'$.{key}'"
    return (
        f"CASE json_type(properties, {path}) "
        f"WHEN 'integer' THEN CAST(json_extract(properties, {path}) AS REAL) "
        f"WHEN 'real' THEN json_extract(properties, {path}) WHEN 'true' THEN 1.0 WHEN 'false' THEN 0.0 END"
    )


def _us(instant: datetime | None) -> int | None:
    return None if instant is None else compiled.microseconds(instant)
