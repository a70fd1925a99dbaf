import time

from django.core.management.base import BaseCommand

from leads.demo import load_demo_data
from models_review.services import ensure_default_model


class Command(BaseCommand):
    help = "Load a seeded, repeatable demo history through the ingest service (safe to re-run)."

    def add_arguments(self, parser):
        parser.add_argument("--leads", type=int, default=2000)
        parser.add_argument("--accounts", type=int, default=120)
        parser.add_argument("--seed", type=int, default=42)

    def handle(self, *args, leads, accounts, seed, **options):
        started = time.monotonic()
        ensure_default_model()
        totals = load_demo_data(leads=leads, accounts=accounts, seed=seed, progress=self.stdout.write)
        self.stdout.write(
            f"Demo data: {totals['leads']} leads, {totals['accounts']} accounts, {totals['assets']} assets, "
            f"{totals['events']} new events in {time.monotonic() - started:.1f} s."
        )
