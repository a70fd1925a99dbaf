"""Where a recalculation chunk's time goes, phase by phase, on the benchmark database:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadscore_bench python benchmarks/profile_chunks.py

For `--chunks` chunks of `--size` leads spread over the id range (so the page cache holds
no more of them than a real run would), it times apart: locking the leads, reading their
events in (lead, time, id) order through the index, replaying them with the compiled
engine, and writing lead rows, product scores and stage changes. Each chunk's writes are
rolled back, so the database is left as it was. Then the same read as one sequential scan
of the events table, for comparison, and the buffers one chunk's read touches (EXPLAIN)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from itertools import groupby
from operator import itemgetter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.dataset import DEFAULT_URL, setup_django  # noqa: E402


class Phases:
    def __init__(self):
        self.seconds: dict[str, float] = {}

    def timed(self, name, action):
        started = time.perf_counter()
        result = action()
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - started
        return result


def profile_chunk(phases: Phases, version, model, after_id: int, size: int, as_of) -> int:
    from django.db import connection, transaction

    from leads.background import recalculation as recalc
    from leads.engine import compiled
    from leads.models import Lead

    with transaction.atomic():
        leads = phases.timed(
            "lock leads",
            lambda: list(
                Lead.objects.select_for_update()
                .filter(pk__gt=after_id)
                .order_by("pk")
                .values_list("pk", "stage", "last_engaged_at", "is_cold", "cold_since", "stage_changed_at")[
                    :size
                ]
            ),
        )
        first_id, last_id = leads[0][0], leads[-1][0]

        def read():
            with connection.cursor() as cursor:
                cursor.execute(recalc._events_sql("lead_id >= %s AND lead_id <= %s"), [first_id, last_id])
                return cursor.fetchall()

        rows = phases.timed("read events (index)", read)
        states = phases.timed(
            "replay (compiled engine)",
            lambda: {
                lead_id: compiled.replay_formatted(group, model, as_of)
                for lead_id, group in groupby(rows, key=itemgetter(0))
            },
        )
        empty = compiled.replay_formatted((), model, as_of)
        locked = [
            recalc.LockedLead(pk, stage, recalc._us(engaged), *rest) for pk, stage, engaged, *rest in leads
        ]
        phases.timed(
            "write rows, product scores, changes",
            lambda: recalc._write_chunk(version, locked, lambda pk: states.get(pk) or empty, as_of, None),
        )
        transaction.set_rollback(True)  # measured, not kept
    return len(rows)


def sequential_read_seconds() -> tuple[float, int]:
    """Every event in (lead, time, id) order as one sequential scan and sort, rows discarded."""
    from django.db import connection, transaction

    from leads.background import recalculation as recalc

    started, count = time.perf_counter(), 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f"DECLARE everything NO SCROLL CURSOR FOR {recalc._events_sql('true')}")
        while True:
            cursor.execute("FETCH 50000 FROM everything")
            batch = cursor.fetchall()
            if not batch:
                break
            count += len(batch)
    return time.perf_counter() - started, count


def buffers_of_one_read(first_id: int, last_id: int) -> str:
    from django.db import connection

    from leads.background import recalculation as recalc

    with connection.cursor() as cursor:
        cursor.execute(
            "EXPLAIN (ANALYZE, BUFFERS, FORMAT TEXT) "
            + recalc._events_sql("lead_id >= %s AND lead_id <= %s"),
            [first_id, last_id],
        )
        plan = [row[0] for row in cursor.fetchall()]
    return "\n".join(
        "    " + line for line in plan if "Buffers" in line or "Scan" in line or "Execution" in line
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=6)
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--skip-sequential", action="store_true")
    args = parser.parse_args(argv)
    setup_django(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    from django.db.models import Max
    from django.utils import timezone

    from leads.background import recalculation as recalc
    from leads.ingest.assets import AssetCatalog
    from leads.models import Lead
    from leads.services import active_version, spec_for

    version, as_of = active_version(), timezone.now()
    model = recalc.compiled_model(spec_for(version), AssetCatalog.load())
    last = Lead.objects.aggregate(last=Max("id"))["last"]
    stride = max(args.size, last // args.chunks)
    phases, events = Phases(), 0
    for number in range(args.chunks):
        events += profile_chunk(phases, version, model, number * stride, args.size, as_of)
    leads = args.chunks * args.size
    total = sum(phases.seconds.values())
    print(f"\n{args.chunks} chunks of {args.size:,} leads ({events:,} events), {total:.2f} s in all")
    print(f"{'phase':<38} {'s per chunk':>12} {'share':>7} {'projected for 1M leads':>24}")
    for name, seconds in phases.seconds.items():
        per_chunk = seconds / args.chunks
        print(f"{name:<38} {per_chunk:12.3f} {100 * seconds / total:6.0f} % {seconds / leads * 1e6:21.0f} s")
    print(f"\nbuffers of one chunk's read (leads {stride + 1:,}–{stride + args.size:,}):")
    print(buffers_of_one_read(stride + 1, stride + args.size))
    if not args.skip_sequential:
        seconds, count = sequential_read_seconds()
        print(f"\nevery event as one sorted sequential scan: {count:,} rows in {seconds:.1f} s")


if __name__ == "__main__":
    main()
