"""A big PostgreSQL dataset for benchmarks: 1,000,000 leads and 10,000,000 events by default.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/leadscore_bench python benchmarks/dataset.py

Creates the database if needed, migrates it, publishes the default model and loads leads
and events with INSERT … SELECT over generate_series inside PostgreSQL (seeded, so
repeatable), so nothing per row runs in Python. Work already done is
skipped: a database that already holds the requested leads and events is left as it is.
Reusable from other benchmarks: `from benchmarks.dataset import ensure_dataset`."""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlparse

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/leadscore_bench"
BASE_DIR = Path(__file__).resolve().parent.parent
SITE = "https://bench.example"
PAGES = [f"{SITE}/pricing", f"{SITE}/demo", f"{SITE}/careers", f"{SITE}/blog/1", f"{SITE}/blog/2", f"{SITE}/"]
SLICE = 1_000_000
SPAN_SECONDS = 365 * 86400
NOW = datetime.now(UTC).replace(microsecond=0)


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


def ensure_dataset(*, leads: int = 1_000_000, events: int = 10_000_000, seed: int = 1, log=print) -> dict:
    """Fill the configured database up to `leads` leads and `events` events (Django set up)."""
    from leads.models import Asset, Event, Lead, ProductLine
    from models_review.services import ensure_default_model

    ensure_default_model()
    analytics, _ = ProductLine.objects.get_or_create(name="Analytics")
    for url in PAGES[:2]:
        Asset.objects.get_or_create(
            kind="page", key=url, defaults={"sales_ready": True, "product_line": analytics}
        )
    Asset.objects.get_or_create(kind="document", key="whitepaper-1", defaults={"product_line": analytics})
    have_leads, have_events = Lead.objects.count(), Event.objects.count()
    if have_leads >= leads and have_events >= events:
        log(f"dataset ready: {have_leads:,} leads, {have_events:,} events (nothing to do)")
        return {"leads": have_leads, "events": have_events, "seconds": 0.0}
    if have_leads or have_events:
        raise SystemExit(
            f"The benchmark database holds a partial dataset ({have_leads:,} leads, {have_events:,} "
            "events); drop it and run again."
        )
    started = time.monotonic()
    rng = random.Random(seed)
    _copy_leads(leads)
    log(f"  {leads:,} leads copied in {time.monotonic() - started:.0f} s")
    first_id = Lead.objects.order_by("pk").values_list("pk", flat=True).first()
    _copy_events(rng, first_id, leads, events, log)
    _appeared_at_from_events()
    _analyze()
    seconds = time.monotonic() - started
    log(f"dataset built: {leads:,} leads, {events:,} events in {seconds:.0f} s")
    return {"leads": leads, "events": events, "seconds": seconds}


def _copy_leads(count: int) -> None:
    """Leads generated inside PostgreSQL: no Python per row, so a million take seconds."""
    with _cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO leads_lead (email, name, title, score, stage, engine_state, is_cold, is_qualified,
                                    likelihood_factors, created_at, updated_at, appeared_at)
            SELECT 'bench' || i || '@lead' || (i %% 5000) || '.example', 'Lead ' || i, '', 0, 1, '{}',
                   false, false, '[]', now(), now(), now()
              FROM generate_series(0, %s - 1) AS i""",
            [count],
        )


def _copy_events(rng: random.Random, first_id: int, leads: int, count: int, log) -> None:
    """Events generated inside PostgreSQL in slices of a million, from a seeded random().

    The mix: 55 % page views over six pages (two sales-ready, one careers), 15 % video
    progress (10–100 %), 12 % whitepaper downloads (capped rule), 13 % email opens,
    5 % form submits; instants spread over the last year."""
    pages = "ARRAY[" + ", ".join(f"'{url}'" for url in PAGES) + "]"
    started = time.monotonic()
    with _cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [rng.random() * 2 - 1])  # the session's random() from here on
    for start in range(0, count, SLICE):
        # A transaction per slice: the deferred foreign-key checks then run a million at a time.
        with _cursor() as cursor:
            cursor.execute(
                f"""
                INSERT INTO leads_event (idempotency_key, lead_id, anonymous_id, type, name, asset_key, url,
                                         occurred_at, received_at, campaign, properties, source)
                SELECT 'b' || n, %s + floor(r_lead * %s)::int, '',
                       CASE WHEN kind < 0.55 THEN 'page_view' WHEN kind < 0.7 THEN 'video_play'
                            WHEN kind < 0.82 THEN 'download' WHEN kind < 0.95 THEN 'email_open'
                            ELSE 'form_submit' END,
                       '',
                       CASE WHEN kind < 0.55 THEN ({pages})[1 + floor(r_page * {len(PAGES)})::int]
                            WHEN kind < 0.7 THEN 'video-' || (n %% 20)
                            WHEN kind < 0.82 THEN 'whitepaper-1' WHEN kind < 0.95 THEN 'email-' || (n %% 8)
                            ELSE 'contact' END,
                       CASE WHEN kind < 0.55 THEN ({pages})[1 + floor(r_page * {len(PAGES)})::int]
                            ELSE '' END,
                       date_trunc('second', %s::timestamptz) - make_interval(secs => floor(r_time * %s)),
                       %s::timestamptz, '',
                       CASE WHEN kind >= 0.55 AND kind < 0.7
                            THEN jsonb_build_object('percent', (ARRAY[10, 25, 50, 75, 100])[1 + (n %% 5)])
                            ELSE '{{}}'::jsonb END,
                       'bench'
                  FROM (SELECT n, random() AS kind, random() AS r_page, random() AS r_time, random() AS r_lead
                          FROM generate_series(%s, %s) AS n) AS draws""",
                [first_id, leads, NOW, SPAN_SECONDS, NOW, start, min(count, start + SLICE) - 1],
            )
            log(f"  {min(count, start + SLICE):,} events ({time.monotonic() - started:.0f} s)")


def _appeared_at_from_events() -> None:
    """The events are older than the leads (copied just now): a lead appeared at its first
    event, as ingest would have recorded it."""
    with _cursor() as cursor:
        cursor.execute(
            """
            UPDATE leads_lead AS l SET appeared_at = f.first_at
              FROM (SELECT lead_id, MIN(occurred_at) AS first_at FROM leads_event GROUP BY lead_id) AS f
             WHERE f.lead_id = l.id AND f.first_at < l.appeared_at"""
        )


@contextmanager
def _cursor():
    """A cursor in a transaction that commits when the block ends."""
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        yield cursor


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
