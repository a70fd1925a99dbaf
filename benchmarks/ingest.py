#!/usr/bin/env python
"""Ingest benchmark (issue 3): a real gunicorn on loopback, PostgreSQL, Segment-style batches.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/anything python benchmarks/ingest.py

Uses the server of DATABASE_URL but a database of its own (leadscore_bench_ingest, dropped
and re-created), starts and stops its own gunicorn, then prints:
  - sustained events/s stored and scored, from many concurrent batches of 500 track calls
    (every event is stored and scored before its response returns; counted in the database);
  - p50 / p99 latency of single /track calls.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "leadscore_bench_ingest"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--batches", type=int, default=120, help="batches of --batch-size to send (default 120)"
    )
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--clients", type=int, default=4, help="concurrent HTTP clients (default 4)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes (default 3)")
    parser.add_argument("--leads", type=int, default=20_000, help="distinct userIds the events spread over")
    parser.add_argument(
        "--singles", type=int, default=300, help="single /track calls for the latency figures"
    )
    return parser.parse_args()


def bench_database_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "Set DATABASE_URL to a PostgreSQL server (postgres://user@host:port/db); "
            f"the benchmark uses its own database {BENCH_DB} there."
        )
    return urlunparse(urlparse(url)._replace(path=f"/{BENCH_DB}"))


def recreate_database(url: str) -> None:
    import psycopg

    admin = urlunparse(urlparse(url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {BENCH_DB}")


def manage(env: dict, *args: str) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


def prepare(env: dict) -> str:
    manage(env, "migrate", "--no-input", "-v", "0")
    spec_model = {
        "model": "Benchmark",
        "note": "SPEC §2a example",
        "sales_ready_score": 100,
        "decay": {
            "inactivity_days": 30,
            "period_days": 7,
            "mode": "percent",
            "amount": 10,
            "floor_fraction": 0.5,
        },
        "cold_after_days": 30,
        "stage_mode": "score",
        "account_threshold": 200,
        "rules": [
            {"event_type": "page_view", "asset_flag": "sales_ready", "points": 5},
            {"event_type": "page_view", "url_pattern": "*/careers*", "points": -10},
            {"event_type": "video_play", "points": 20},
            {"event_type": "download", "product_line": "Analytics", "points": 10, "max_per_day": 3},
            {"event_type": "form_submit", "points": 25},
            {"event_type": "custom", "event_name": "Trial Started", "points": 30},
        ],
    }
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(spec_model, handle)
    manage(env, "model_import", handle.name, "--publish")
    os.unlink(handle.name)
    return manage(env, "create_write_key", "Benchmark").split()[-1]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(env: dict, port: int, workers: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "scoring_site.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health/")
            if connection.getresponse().status == 200:
                return server
        except OSError:
            pass
        if server.poll() is not None:
            sys.exit("gunicorn exited before it was ready")
        time.sleep(0.3)
    server.terminate()
    sys.exit("gunicorn did not become ready within 60 s")


def message(rng: random.Random, user: int, at: datetime) -> dict:
    kind = rng.random()
    base = {
        "type": "track",
        "userId": f"user-{user}",
        "messageId": uuid.uuid4().hex,
        "timestamp": at.isoformat(),
        "context": {
            "library": {"name": "benchmark"},
            "campaign": {"name": rng.choice(["spring", "retarget", ""])},
        },
    }
    if kind < 0.45:
        return {
            **base,
            "type": "page",
            "name": "Pricing",
            "properties": {
                "url": f"https://bench.example/{rng.choice(['pricing', 'blog/1', 'careers', 'docs'])}"
            },
        }
    if kind < 0.65:
        return {
            **base,
            "event": "Video Content Playing",
            "properties": {
                "content_asset_id": f"video-{rng.randrange(20)}",
                "position": rng.randrange(0, 120),
                "total_length": 120,
            },
        }
    if kind < 0.8:
        return {**base, "event": "Form Submitted", "properties": {"form_id": "contact"}}
    if kind < 0.9:
        return {
            **base,
            "event": "Document Downloaded",
            "properties": {"asset_id": f"doc-{rng.randrange(10)}"},
        }
    return {
        **base,
        "event": rng.choice(["Trial Started", "Pricing Calculator Used"]),
        "properties": {"plan": "pro"},
    }


def build_batches(args) -> list[bytes]:
    rng = random.Random(7)
    start = datetime.now(UTC) - timedelta(days=20)
    bodies = []
    for number in range(args.batches):
        # Time moves forward batch by batch, as live traffic does (late events would replay).
        at = start + timedelta(seconds=number * 5)
        batch = [
            message(rng, rng.randrange(args.leads), at + timedelta(milliseconds=i))
            for i in range(args.batch_size)
        ]
        bodies.append(json.dumps({"batch": batch}).encode())
    return bodies


class Poster:
    def __init__(self, port: int, write_key: str):
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.headers = {
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode(),
        }

    def post(self, path: str, body: bytes) -> None:
        self.connection.request("POST", path, body=body, headers=self.headers)
        response = self.connection.getresponse()
        payload = response.read()
        if response.status != 200 or b'"rejected"' in payload:
            raise RuntimeError(f"{path}: HTTP {response.status}: {payload[:300]!r}")


def run_batches(port: int, write_key: str, bodies: list[bytes], clients: int) -> float:
    work = list(enumerate(bodies))
    lock, failures = threading.Lock(), []

    def client():
        poster = Poster(port, write_key)
        while True:
            with lock:
                if not work or failures:
                    return
                _, body = work.pop(0)
            try:
                poster.post("/api/v1/batch", body)
            except Exception as problem:  # reported below; the benchmark stops
                failures.append(problem)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return time.perf_counter() - started


def run_singles(port: int, write_key: str, count: int, leads: int) -> list[float]:
    rng, poster, latencies = random.Random(11), Poster(port, write_key), []
    for _ in range(count):
        body = json.dumps(
            message(rng, rng.randrange(leads), datetime.now(UTC))
            | {"type": "track", "event": "Form Submitted"}
        )
        started = time.perf_counter()
        poster.post("/api/v1/track", body.encode())
        latencies.append(time.perf_counter() - started)
    return latencies


def count_rows(url: str) -> tuple[int, int]:
    import psycopg

    with psycopg.connect(url) as connection:
        events = connection.execute("SELECT count(*) FROM leads_event").fetchone()[0]
        scored = connection.execute(
            "SELECT count(*) FROM leads_event e JOIN leads_lead l ON l.id = e.lead_id "
            "WHERE l.scored_at >= e.occurred_at"
        ).fetchone()[0]
    return events, scored


def server_pids(server: subprocess.Popen, url: str) -> tuple[list[int], list[int]]:
    """gunicorn's worker processes and the PostgreSQL backends serving the benchmark database."""
    import psycopg

    workers = [
        int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _parent_of(int(pid)) == server.pid
    ]
    with psycopg.connect(url) as connection:
        backends = [
            row[0]
            for row in connection.execute(
                "SELECT pid FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ]
    return workers, backends


def _parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU per process (from /proc), so the figure does not depend on how
    busy the rest of the machine is."""
    seconds = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            continue
    return seconds


def cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    return sum(after[pid] - before[pid] for pid in before.keys() & after.keys())


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main():
    args = parse_args()
    url = bench_database_url()
    recreate_database(url)
    # Persistent connections for the whole run, as a production web tier keeps them (and so
    # the PostgreSQL backends whose CPU is measured live as long as the run).
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "3600",
        "LEADSCORE_VAR_DIR": tempfile.mkdtemp(prefix="leadscore-bench-"),
    }
    write_key = prepare(env)
    bodies = build_batches(args)
    port = free_port()
    server = start_gunicorn(env, port, args.workers)
    try:
        run_batches(port, write_key, bodies[:4], 2)  # warm-up: imports, connections, asset catalogue
        before, _ = count_rows(url)
        workers, backends = server_pids(server, url)
        web_before, db_before, client_before = (
            cpu_seconds(workers),
            cpu_seconds(backends),
            time.process_time(),
        )
        elapsed = run_batches(port, write_key, bodies[4:], args.clients)
        web_cpu, db_cpu = (
            cpu_used(web_before, cpu_seconds(workers)),
            cpu_used(db_before, cpu_seconds(backends)),
        )
        client_cpu = time.process_time() - client_before
        stored, scored = count_rows(url)
        sent = (len(bodies) - 4) * args.batch_size
        latencies = run_singles(port, write_key, args.singles, args.leads)
    finally:
        server.terminate()
        server.wait(timeout=30)
    stored_now = stored - before
    print(
        f"batched: {sent:,} events in {len(bodies) - 4} batches of {args.batch_size} "
        f"from {args.clients} clients, "
        f"{args.workers} gunicorn workers"
    )
    print(
        f"  stored {stored_now:,} (all {scored:,} stored events scored) in {elapsed:.2f} s "
        f"= {stored_now / elapsed:,.0f} events/s sustained"
    )
    per_thousand = 1000 * (web_cpu + db_cpu) / max(stored_now, 1)
    cores = os.cpu_count() or 1
    print(
        f"  server CPU {per_thousand:.2f} s per 1,000 events "
        f"(gunicorn {1000 * web_cpu / max(stored_now, 1):.2f} s, "
        f"PostgreSQL {1000 * db_cpu / max(stored_now, 1):.2f} s) → capacity on {cores} idle cores "
        f"≈ {1000 * cores / per_thousand:,.0f} events/s; load average now {os.getloadavg()[0]:.1f}"
    )
    print(
        f"  benchmark client CPU {1000 * client_cpu / max(stored_now, 1):.3f} s per 1,000 events "
        "(on the same cores)"
    )
    print(
        f"single /track: {len(latencies)} calls, p50 {1000 * statistics.median(latencies):.1f} ms, "
        f"p99 {1000 * percentile(latencies, 0.99):.1f} ms"
    )
    if stored_now != sent:
        sys.exit(f"expected {sent} new events, found {stored_now}")


if __name__ == "__main__":
    main()
