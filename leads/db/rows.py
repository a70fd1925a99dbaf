"""Reading and writing lead rows as plain values on the ingest hot path.

A batch locks and rewrites hundreds of leads; building model instances (and loading
timestamps through Django's pure-Python adapter) costs more than the SQL, so scoring reads
and writes the columns below as `LeadRow`s, and PostgreSQL gets whole batches as one JSON
recordset parameter."""

from __future__ import annotations

import json
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.db import connection, models

from leads.db.bulk import epoch_microseconds_sql
from leads.engine.compiled import instant
from leads.models import Lead

# The score columns every writer of engine state sets (ingest, replay, recalculation).
LEAD_STATE_FIELDS = (
    "score",
    "scored_at",
    "last_engaged_at",
    "engine_state",
    "scored_with",
    "stage",
    "stage_changed_at",
    "is_cold",
    "cold_since",
)
# What scoring reads of a lead, in LeadRow's order.
LEAD_SCORING_FIELDS = (
    "id",
    "account_id",
    "score",
    "scored_at",
    "last_engaged_at",
    "engine_state",
    "scored_with_id",
    "stage",
    "stage_changed_at",
    "is_cold",
    "cold_since",
)
_TIMESTAMP_COLUMNS = {"scored_at", "last_engaged_at", "stage_changed_at", "cold_since"}


@dataclass(slots=True)
class LeadRow:
    """The columns of a lead that scoring reads and writes, named as on `Lead` and in the
    order of LEAD_SCORING_FIELDS, without a model instance."""

    pk: int
    account_id: int | None
    score: float
    scored_at: datetime | None
    last_engaged_at: datetime | None
    engine_state: dict
    scored_with_id: int | None
    stage: int
    stage_changed_at: datetime | None
    is_cold: bool
    cold_since: datetime | None
    updated_at: datetime | None = None

    @property
    def id(self) -> int:
        return self.pk


# How PostgreSQL's plain values become LeadRow's: instants come as integer microseconds
# since the epoch (exact, and converted in C), the engine state as JSON text.
_FROM_POSTGRESQL = [
    instant if name in _TIMESTAMP_COLUMNS else json.loads if name == "engine_state" else None
    for name in LEAD_SCORING_FIELDS
]


def locked_lead_rows(lead_ids: list[int]) -> list[LeadRow]:
    """Lock the leads in id order and read their scoring columns."""
    if connection.vendor != "postgresql":
        locked = Lead.objects.select_for_update().filter(pk__in=lead_ids).order_by("pk")
        return [LeadRow(*row) for row in locked.values_list(*LEAD_SCORING_FIELDS)]
    columns = ", ".join(
        epoch_microseconds_sql(name) if name in _TIMESTAMP_COLUMNS else name for name in LEAD_SCORING_FIELDS
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {Lead._meta.db_table} WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            [lead_ids],
        )
        rows = cursor.fetchall()
    return [
        LeadRow(*(convert(value) if convert else value for convert, value in zip(_FROM_POSTGRESQL, row)))
        for row in rows
    ]


def lead_states_update(leads: Sequence) -> None:
    """Write many leads' score columns at once. Django's bulk_update builds a CASE per
    field and row, which costs seconds for a batch of 500: PostgreSQL gets one UPDATE
    joined to a JSON recordset, SQLite an in-process executemany."""
    fields = [Lead._meta.get_field(name) for name in (*LEAD_STATE_FIELDS, "updated_at")]
    table, quote = connection.ops.quote_name(Lead._meta.db_table), connection.ops.quote_name
    if connection.vendor == "postgresql":
        assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
        with bound_cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS l SET {assignments} FROM {recordset_sql(fields + [Lead._meta.pk])} "
                f"WHERE l.id = v.id",
                [records_json(leads, fields + [Lead._meta.pk])],
            )
        return
    adapters = [(field.attname, column_adapter(field)) for field in fields]
    rows = [[adapt(getattr(lead, attname)) for attname, adapt in adapters] + [lead.pk] for lead in leads]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", rows)


def leads_appeared_at_lower(earliest_event_at: dict[int, datetime]) -> None:
    """Move `appeared_at` back to a lead's earliest new event where that is earlier (an
    imported history, an anonymous one joined later). One statement per batch; live events
    come after the lead appeared, so it usually changes nothing."""
    if not earliest_event_at:
        return
    table = connection.ops.quote_name(Lead._meta.db_table)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS l SET appeared_at = v.at "
                f"FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, at) "
                f"WHERE l.id = v.id AND l.appeared_at > v.at",
                [list(earliest_event_at), list(earliest_event_at.values())],
            )
        return
    adapt = connection.ops.adapt_datetimefield_value
    rows = [(adapt(at), lead_id, adapt(at)) for lead_id, at in earliest_event_at.items()]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET appeared_at = %s WHERE id = %s AND appeared_at > %s", rows)


def bound_cursor():
    """A PostgreSQL cursor that sends parameters apart from the SQL. Django's cursors write
    them into the SQL text, so a batch's 200 KB JSON recordset would be escaped by the
    driver and scanned again by PostgreSQL's parser."""
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    return (
        connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)
    )


def recordset_sql(fields) -> str:
    # One JSON parameter instead of thousands: PostgreSQL parses it faster than the
    # driver adapts per-column arrays.
    columns = ", ".join(f"{connection.ops.quote_name(f.column)} {f.db_type(connection)}" for f in fields)
    return f"jsonb_to_recordset(%s::jsonb) AS v({columns})"


def records_json(objects, fields) -> str:
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


def column_adapter(field):
    # Plain values the driver takes as they are; only JSON and datetimes need preparing.
    if isinstance(field, models.JSONField):
        return json.dumps
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    return lambda value: value
