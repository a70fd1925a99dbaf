"""Server time of the workspace's heaviest pages against whatever DATABASE_URL points at.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/big python benchmarks/pages.py --runs 40

Requests go through Django's full stack in-process (middleware, view, queries, template),
so the figures are server time without network or browser. Reported per page: p50 and p95
in milliseconds. The stage dashboard is measured twice: as people see it (its aggregates
are cached for a minute, keyed on the latest stage change) and cold (cache cleared before
every request). `--backfill-snapshots N` writes daily stage snapshots for the last N days
from the stage-change log when a demo database has none (the daily job writes them in
production); it never overwrites a snapshot that exists."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scoring_site.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from leads.models import Event, Lead, Segment, StageChange, StageSnapshot  # noqa: E402
from leads.roles import MARKETERS  # noqa: E402
from leads.workspace import selectors  # noqa: E402

LIST_QUERIES = (
    "stage=2&score_min=40&sort=score",
    "stage=4&sort=-score",
    "score_min=20&score_max=80&sort=-last_engaged_at",
    "cold=0&sort=score&page=3",
    "product_line=Analytics&product_score_min=10&sort=-score",
    "active_since={since}&sort=-score",
)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


def timed(client: Client, url: str) -> float:
    started = time.perf_counter()
    response = client.get(url)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 200:
        raise SystemExit(f"{url} answered {response.status_code}")
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)
    return elapsed


def bench_user():
    user = (
        get_user_model().objects.filter(groups__name=MARKETERS).first()
        or get_user_model().objects.filter(is_superuser=True).first()
    )
    if user is None:
        user = get_user_model().objects.create_user("bench-marketer", password=None)
        user.groups.add(Group.objects.get_or_create(name=MARKETERS)[0])
    return user


def backfill_snapshots(days: int) -> int:
    """Leads per stage at the end of each past day, from the stage-change log: a lead's stage
    that day is the target of its last change before midnight, else Stage 1."""
    today = timezone.now().date()
    total = Lead.objects.count()
    made = 0
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        if StageSnapshot.objects.filter(day=day).exists():
            continue
        end = connection.ops.adapt_datetimefield_value(
            datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
        )
        table = StageChange._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                f"""
                SELECT to_stage, COUNT(*) FROM (
                    SELECT to_stage, ROW_NUMBER() OVER (PARTITION BY lead_id ORDER BY at DESC, id DESC) AS nth
                    FROM {table} WHERE at < %s) latest
                WHERE nth = 1 GROUP BY to_stage""",
                [end],
            )
            counts = dict(cursor.fetchall())
        counts[1] = counts.get(1, 0) + total - sum(counts.values())
        StageSnapshot.objects.bulk_create(
            [StageSnapshot(day=day, stage=s, count=n) for s, n in counts.items()], ignore_conflicts=True
        )
        made += 1
    return made


HEAVY_LEAD_EMAIL = "bench-heavy@bench.example"
HEAVY_LEAD_EVENTS = 5000


def heavy_lead() -> Lead:
    """One lead with 5,000 events (a bot, a power user): added once, scored like any other.
    Bursts of form submits then careers page views, so the score climbs and falls many times."""
    from leads.services import lead_replay

    lead, _ = Lead.objects.get_or_create(email=HEAVY_LEAD_EMAIL, defaults={"name": "Heavy Bench"})
    have = Event.objects.filter(lead=lead).count()
    if have < HEAVY_LEAD_EVENTS:
        start = timezone.now() - timedelta(days=300)
        Event.objects.bulk_create(
            [
                Event(
                    lead=lead,
                    type="form_submit" if n % 100 < 5 else "page_view",
                    url="" if n % 100 < 5 else "https://bench.example/careers",
                    occurred_at=start + timedelta(hours=n),
                )
                for n in range(have, HEAVY_LEAD_EVENTS)
            ],
            batch_size=1000,
        )
        lead_replay(lead=lead)
    return lead


def bench_segment() -> Segment:
    segment, _ = Segment.objects.get_or_create(
        name="bench: stages 2–3, score ≥ 20", defaults={"filters": {"stage": [2, 3], "score_min": 20}}
    )
    return segment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--backfill-snapshots", type=int, default=0, metavar="DAYS")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.backfill_snapshots:
        print(f"backfilled {backfill_snapshots(args.backfill_snapshots)} days of stage snapshots")
    leads = Lead.objects.count()
    if not leads:
        raise SystemExit("The database has no leads; load demo data or the benchmark dataset first.")
    print(
        f"{connection.vendor} · {leads:,} leads · {StageChange.objects.count():,} stage changes "
        f"· {args.runs} runs each"
    )
    client = Client()
    client.force_login(bench_user())
    max_id = Lead.objects.order_by("-id").values_list("id", flat=True).first()
    since = (timezone.now() - timedelta(days=14)).date().isoformat()

    def lead_url():
        pk = (
            Lead.objects.filter(id__gte=rng.randint(1, max_id))
            .order_by("id")
            .values_list("id", flat=True)
            .first()
            or max_id
        )
        return f"/leads/{pk}/"

    heavy, segment = heavy_lead(), bench_segment()

    def search_url(kind: str) -> str:
        n = rng.randint(0, max(leads - 1, 0))
        return f"/leads/?q=Lead+{n}" if kind == "name" else f"/leads/?q=bench{n}%40"

    pages = {
        "stage dashboard (as served, 60 s cache)": lambda: "/leads/dashboard/",
        "stage dashboard (cold, cache cleared)": lambda: (cache.clear(), "/leads/dashboard/")[1],
        "stage dashboard (cold, segment filter)": lambda: (
            cache.clear(),
            f"/leads/dashboard/?segment={segment.pk}",
        )[1],
        "lead list (filtered + sorted)": lambda: "/leads/?" + rng.choice(LIST_QUERIES).format(since=since),
        "text search (name)": lambda: search_url("name"),
        "text search (email)": lambda: search_url("email"),
        "lead page": lead_url,
        f"lead page, {HEAVY_LEAD_EVENTS:,} events": lambda: f"/leads/{heavy.pk}/",
        f"lead chart, {HEAVY_LEAD_EVENTS:,} events": lambda: f"/leads/{heavy.pk}/chart.json",
        # The first view in a process, or after the lead's next event: the whole replay.
        f"lead page, {HEAVY_LEAD_EVENTS:,} events, not cached": lambda: (
            selectors._history_cache.clear(),
            f"/leads/{heavy.pk}/",
        )[1],
    }
    print(f"{'page':45} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}")
    for name, next_url in pages.items():
        timed(client, next_url())  # first request warms caches and connections; not counted
        samples = [timed(client, next_url()) for _ in range(args.runs)]
        print(
            f"{name:45} {statistics.median(samples):8.1f} "
            f"{percentile(samples, 0.95):8.1f} {max(samples):8.1f}"
        )


if __name__ == "__main__":
    main()
