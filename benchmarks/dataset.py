"""A big PostgreSQL dataset for benchmarks: 1,000,000 leads and 10,000,000 events by default.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadscore_bench python benchmarks/dataset.py

Creates the database if needed, migrates it, publishes the default model and loads leads
and events with COPY (psycopg 3), streaming rows so memory stays flat. Work already done is
skipped: a database that already holds the requested leads and events is left as it is.
Reusable from other benchmarks: `from benchmarks.dataset import ensure_dataset`."""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/leadscore_bench"
BASE_DIR = Path(__file__).resolve().parent.parent
SITE = "https://bench.example"
PAGES = [f"{SITE}/pricing", f"{SITE}/demo", f"{SITE}/careers", f"{SITE}/blog/1", f"{SITE}/blog/2", f"{SITE}/"]
COPY_BATCH = 50_000


def setup_django(database_url: str) -> None:
    """Point Django at the benchmark database (created if missing) and migrate it."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scoring_site.settings")
    sys.path.insert(0, str(BASE_DIR))
    _create_database(database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _create_database(database_url: str) -> None:
    import psycopg

    parts = urlparse(database_url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"')


def ensure_dataset(*, leads: int = 1_000_000, events: int = 10_000_000, seed: int = 1,
                   log=print) -> dict:
    """Fill the configured database up to `leads` leads and `events` events (Django set up)."""
    from leads.models import Asset, Event, Lead, ProductLine
    from models_review.services import ensure_default_model

    ensure_default_model()
    analytics, _ = ProductLine.objects.get_or_create(name="Analytics")
    for url in PAGES[:2]:
        Asset.objects.get_or_create(kind="page", key=url, defaults={"sales_ready": True, "product_line": analytics})
    Asset.objects.get_or_create(kind="document", key="whitepaper-1", defaults={"product_line": analytics})
    have_leads, have_events = Lead.objects.count(), Event.objects.count()
    if have_leads >= leads and have_events >= events:
        log(f"dataset ready: {have_leads:,} leads, {have_events:,} events (nothing to do)")
        return {"leads": have_leads, "events": have_events, "seconds": 0.0}
    if have_leads or have_events:
        raise SystemExit(f"The benchmark database holds a partial dataset ({have_leads:,} leads, {have_events:,} "
                         "events); drop it and run again.")
    started = time.monotonic()
    rng = random.Random(seed)
    _copy_leads(leads)
    log(f"  {leads:,} leads copied in {time.monotonic() - started:.0f} s")
    first_id = Lead.objects.order_by("pk").values_list("pk", flat=True).first()
    _copy_events(rng, first_id, leads, events, log)
    _analyze()
    seconds = time.monotonic() - started
    log(f"dataset built: {leads:,} leads, {events:,} events in {seconds:.0f} s")
    return {"leads": leads, "events": events, "seconds": seconds}


def _raw_connection():
    from django.db import connection

    connection.ensure_connection()
    return connection.connection


def _copy_leads(count: int) -> None:
    now = datetime.now(dt_timezone.utc).isoformat()
    columns = "(email, name, title, score, stage, engine_state, is_cold, is_qualified, created_at, updated_at)"
    raw = _raw_connection()
    with raw.cursor() as cursor, cursor.copy(f"COPY leads_lead {columns} FROM STDIN") as copy:
        for start in range(0, count, COPY_BATCH):
            copy.write("".join(
                f"bench{i}@lead{i % 5000}.example\tLead {i}\t\t0\t1\t{{}}\tf\tf\t{now}\t{now}\n"
                for i in range(start, min(count, start + COPY_BATCH))
            ))
    raw.commit()


def _event_line(rng: random.Random, n: int, lead_id: int, at: datetime, received: str) -> str:
    kind = rng.random()
    if kind < 0.55:
        url = PAGES[int(rng.random() * len(PAGES))]
        event_type, asset_key, properties = "page_view", url, "{}"
    elif kind < 0.7:
        url, event_type, asset_key = "", "video_play", f"video-{n % 20}"
        properties = json.dumps({"percent": (10, 25, 50, 75, 100)[n % 5]})
    elif kind < 0.82:
        url, event_type, asset_key, properties = "", "download", "whitepaper-1", "{}"
    elif kind < 0.95:
        url, event_type, asset_key, properties = "", "email_open", f"email-{n % 8}", "{}"
    else:
        url, event_type, asset_key, properties = "", "form_submit", "contact", "{}"
    return f"b{n}\t{lead_id}\t\t{event_type}\t\t{asset_key}\t{url}\t{at.isoformat()}\t{received}\t\t{properties}\tbench\n"


def _copy_events(rng: random.Random, first_id: int, leads: int, count: int, log) -> None:
    columns = "(idempotency_key, lead_id, anonymous_id, type, name, asset_key, url, occurred_at, received_at, " \
              "campaign, properties, source)"
    now = datetime.now(dt_timezone.utc).replace(microsecond=0)
    received = now.isoformat()
    span = 365 * 86400
    raw = _raw_connection()
    started = time.monotonic()
    with raw.cursor() as cursor, cursor.copy(f"COPY leads_event {columns} FROM STDIN") as copy:
        for start in range(0, count, COPY_BATCH):
            copy.write("".join(
                _event_line(rng, n, first_id + int(rng.random() * leads),
                            now - timedelta(seconds=int(rng.random() * span)), received)
                for n in range(start, min(count, start + COPY_BATCH))
            ))
            if start and start % 1_000_000 == 0:
                log(f"  {start:,} events ({time.monotonic() - started:.0f} s)")
    raw.commit()


def _analyze() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE leads_lead")
        cursor.execute("ANALYZE leads_event")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    args = parser.parse_args(argv)
    setup_django(os.environ.get("DATABASE_URL") or DEFAULT_URL)
    ensure_dataset(leads=args.leads, events=args.events)


if __name__ == "__main__":
    main()
