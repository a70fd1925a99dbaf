"""Set-based writes for the background jobs: one UPDATE … FROM per batch of rows.

Django's bulk_update builds a CASE per column and row, which grows quadratically and is
slow for the 100,000s of rows decay and recalculation write. `WITH v(...) AS (VALUES …)
UPDATE t … FROM v` works on PostgreSQL and SQLite ≥ 3.33 alike."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import date, datetime

from django.db import DatabaseError, connection, transaction
from django.utils import timezone

logger = logging.getLogger(__name__)

# SQLite allows 32,766 parameters per statement; PostgreSQL 65,535.
MAX_PARAMETERS = 30_000


def update_rows(model, fields: Sequence[str], rows: Sequence[tuple]) -> int:
    """UPDATE `model` SET fields = row values WHERE pk = row[0]; rows are (pk, *values)."""
    if not rows:
        return 0
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    if connection.vendor == "postgresql":
        _update_by_copy(meta.db_table, columns, rows)
        return len(rows)
    batch = max(1, MAX_PARAMETERS // len(columns))
    for start in range(0, len(rows), batch):
        _update_batch(meta.db_table, columns, rows[start : start + batch])
    return len(rows)


def _update_by_copy(table: str, columns, rows: Sequence[tuple]) -> None:
    """PostgreSQL: COPY the rows into a temporary table, then one UPDATE … FROM it.
    Binding 10,000s of parameters costs more than the update itself."""
    quote = connection.ops.quote_name
    temp = quote(f"_update_{table}")
    definitions = ", ".join(f"c{index} {_cast_type(column)}" for index, column in enumerate(columns))
    assignments = ", ".join(
        f"{quote(column.column)} = v.c{index}" for index, column in enumerate(columns) if index
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {temp}")
        cursor.execute(f"CREATE TEMP TABLE {temp} ({definitions}) ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY {temp} FROM STDIN") as copy:
            copy.write(copy_text(rows))
        cursor.execute(f"ANALYZE {temp}")  # without statistics the planner may scan the whole target table
        cursor.execute(
            f"UPDATE {quote(table)} SET {assignments} FROM {temp} AS v "
            f"WHERE {quote(table)}.{quote(columns[0].column)} = v.c0"
        )
        cursor.execute(f"DROP TABLE {temp}")


def copy_text(rows: Sequence[tuple]) -> str:
    """Rows in COPY's text format. Formatting them here costs a few µs a row; the driver's
    per-value adaptation (write_row) costs ten times that, and jobs write millions."""
    return "".join("\t".join(map(_copy_value, row)) + "\n" for row in rows)


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(int(value))  # int(): an IntegerChoices member prints as its name
    if isinstance(value, float):
        return repr(value)  # shortest text that reads back as the same double
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (dict, list)):
        value = json.dumps(value)
    return str(value).translate(_COPY_ESCAPES)


def _update_batch(table: str, columns, rows: Sequence[tuple]) -> None:
    quote = connection.ops.quote_name
    names = [f"c{index}" for index in range(len(columns))]
    cast = connection.vendor == "postgresql"
    placeholder = "(" + ", ".join(f"%s::{_cast_type(column)}" if cast else "%s" for column in columns) + ")"
    params = []
    for row in rows:
        params.extend(column.get_db_prep_save(value, connection) for column, value in zip(columns, row))
    assignments = ", ".join(
        f"{quote(column.column)} = v.{name}" for column, name in zip(columns[1:], names[1:])
    )
    sql = (
        f"WITH v({', '.join(names)}) AS (VALUES {', '.join([placeholder] * len(rows))}) "
        f"UPDATE {quote(table)} SET {assignments} "
        f"FROM v WHERE {quote(table)}.{quote(columns[0].column)} = v.c0"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _cast_type(column) -> str:
    target = column.target_field if column.is_relation else column
    return target.rel_db_type(connection) if column.is_relation else target.db_type(connection)


def insert_rows(model, fields: Sequence[str], rows: Sequence[tuple]) -> int:
    """INSERT rows of `fields` values; every other column gets its field's default.
    COPY on PostgreSQL: the recalculation writes 100,000s of product scores and stage changes."""
    if not rows:
        return 0
    meta = model._meta
    given = [meta.get_field(name) for name in fields]
    defaults = [
        (field, _default(field))
        for field in meta.concrete_fields
        if field not in given and not field.primary_key
    ]
    columns = given + [field for field, _ in defaults]
    tail = tuple(value for _, value in defaults)
    quote = connection.ops.quote_name
    names = ", ".join(quote(column.column) for column in columns)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quote(meta.db_table)} ({names}) FROM STDIN") as copy:
                copy.write(copy_text([row + tail for row in rows]))
        else:
            cursor.executemany(
                f"INSERT INTO {quote(meta.db_table)} ({names}) VALUES ({', '.join(['%s'] * len(columns))})",
                [
                    [column.get_db_prep_save(value, connection) for column, value in zip(columns, row + tail)]
                    for row in rows
                ],
            )
    return len(rows)


def _default(field):
    if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
        return timezone.now()
    return field.get_default()


def epoch_microseconds_sql(column: str) -> str:
    """SQL for a timestamp column as integer microseconds since the epoch (exact; NULL stays NULL)."""
    if connection.vendor == "postgresql":
        return f"(EXTRACT(EPOCH FROM {column}) * 1000000)::bigint"
    # SQLite keeps 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC: whole seconds, then the fraction's digits.
    return (
        f"(CAST(strftime('%%s', {column}) AS INTEGER) * 1000000"
        f" + CAST(substr(substr({column}, 21) || '000000', 1, 6) AS INTEGER))"
    )


def id_bounds(model, *, after_id: int, every: int) -> list[int]:
    """Every `every`-th primary key after `after_id`, in one pass over the primary key index:
    the upper ends of id ranges of `every` rows each, for chunk jobs."""
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM (SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS position FROM {table} "
            "WHERE id > %s) AS numbered WHERE position %% %s = 0 ORDER BY id",
            [after_id, every],
        )
        return [row[0] for row in cursor.fetchall()]


def table_tidy(model) -> bool:
    """VACUUM (ANALYZE) `model`'s table on PostgreSQL after a job rewrote most of its rows.

    A recalculation or the nightly likelihood run leaves a dead version of every lead row in
    the table and in each of its indexes until autovacuum gets there, minutes later; until then
    an index-only scan visits the heap for every entry and the planner works from the old
    statistics. Measured at 1M leads, the stage dashboard of a segment took 7.8 s right after
    the likelihood run and 2.3 s once the table was vacuumed (benchmarks/RESULTS.md).
    VACUUM cannot run inside a transaction: there it is left to autovacuum. A failure (a lock
    held by a migration, say) is logged, never the job's failure."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    try:
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")
    except DatabaseError:
        logger.warning("VACUUM of %s failed; autovacuum will do it", model._meta.db_table, exc_info=True)
        return False
    return True
