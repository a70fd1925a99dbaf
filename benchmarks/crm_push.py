"""HubSpot push against the loopback fake: N changed leads, batches of 100 within the call window.

    python benchmarks/crm_push.py --leads 100000 --calls-per-10s 100

Uses its own SQLite file (or DATABASE_URL), creates the leads with bulk_create, runs one push
through hubspot-api-client and prints batches, the most calls the fake saw in any 10 seconds,
429s it had to give for the window (must be 0) and the push rate."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scoring_site.settings")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=100_000)
    parser.add_argument("--calls-per-10s", type=int, default=100)
    args = parser.parse_args()

    from scoring_site import settings as site_settings

    if not os.environ.get("DATABASE_URL"):
        site_settings.DATABASES["default"]["NAME"] = str(Path(tempfile.mkdtemp()) / "crm_bench.sqlite3")
    import django

    django.setup()
    from django.core.management import call_command

    from leads.crm.services import connection_save, crm_push
    from leads.models import Lead
    from tests.leads.crm.fake_hubspot import FakeHubSpot

    call_command("migrate", verbosity=0)
    Lead.objects.bulk_create(
        (Lead(email=f"bench{n}@example.com", score=float(n % 500)) for n in range(args.leads)),
        batch_size=5000,
    )
    fake = FakeHubSpot(calls_per_window=args.calls_per_10s).start()
    connection = connection_save(
        kind="hubspot", secret=fake.token, base_url=fake.url, calls_per_window=args.calls_per_10s
    )
    started = time.monotonic()
    result = crm_push(connection=connection)
    elapsed = time.monotonic() - started
    fake.stop()
    print(f"leads {args.leads:,}, window {args.calls_per_10s} calls / 10 s")
    print(
        f"sent {result.sent:,}, batches {result.batches:,}, failed {result.failed}, pending {result.pending}"
    )
    largest = max(len(call["emails"]) for call in fake.upserts)
    print(f"upsert calls at the fake {len(fake.upserts):,}, largest batch {largest}")
    print(f"most calls in any 10 s: {fake.max_in_window}, 429s for the window: {fake.rejected_over_window}")
    print(f"elapsed {elapsed:.1f} s, push rate {result.sent / elapsed:,.0f} leads/s")


if __name__ == "__main__":
    main()
