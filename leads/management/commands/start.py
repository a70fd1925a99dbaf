"""`manage.py start`: the whole product on one machine — embedded Redis, web, RQ worker
and cron scheduler — with demo data on first run. Ctrl-C stops every process it started."""

import os
import signal
import subprocess
import sys
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from leads.demo import DEMO_PASSWORD, demo_users, load_demo_data
from leads.models import Lead
from leads.services import buying_roles_ensure
from models_review.services import ensure_default_model
from scoring_site import embedded_redis


class Command(BaseCommand):
    help = "Run web, worker and scheduler with demo data (the README's first command)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument(
            "--no-demo", action="store_true", help="Do not load demo data into an empty database."
        )
        parser.add_argument("--demo-leads", type=int, default=2000, help="How many demo leads to generate.")

    def handle(self, *args, bind, no_demo, demo_leads, **options):
        self.children: dict[str, subprocess.Popen] = {}
        self.redis = None
        signal.signal(signal.SIGTERM, self._on_signal)
        try:
            self._prepare(no_demo, demo_leads)
            self._spawn_all(bind)
            self._announce(bind)
            self._watch()
        except KeyboardInterrupt:
            pass
        finally:
            self._stop_all()

    def _prepare(self, no_demo, demo_leads):
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        if settings.USING_EMBEDDED_REDIS:
            self.redis = embedded_redis.start()
        from scoring_site.queueing import outbox_sweep  # jobs requested while Redis was down

        outbox_sweep()
        ensure_default_model()
        buying_roles_ensure()
        demo_users()
        if not no_demo and not Lead.objects.exists():
            self.stdout.write("Loading demo data (first run only)…")
            started = time.monotonic()
            totals = load_demo_data(
                leads=demo_leads,
                accounts=max(10, demo_leads // 16),
                progress=lambda message: self.stdout.write(f"  {message}"),
            )
            self.stdout.write(
                f"  {totals['leads']} leads and {totals['events']} events "
                f"in {time.monotonic() - started:.0f} s"
            )

    def _spawn_all(self, bind):
        manage = [sys.executable, str(settings.BASE_DIR / "manage.py")]
        self.commands = {
            "web": [
                sys.executable,
                "-m",
                "gunicorn",
                "scoring_site.wsgi",
                "--bind",
                bind,
                "--workers",
                "2",
                "--threads",
                "4",
                "--access-logfile",
                "-",
                "--graceful-timeout",
                "5",
            ],
            "worker": manage + ["rqworker", "default", "recalc", "low"],
            "scheduler": manage + ["rqcron", "scoring_site.cron"],
        }
        self.children = {name: self._spawn(command) for name, command in self.commands.items()}

    def _spawn(self, command):
        # Own process group, so a stop reaches every grandchild (gunicorn's workers too).
        return subprocess.Popen(command, cwd=settings.BASE_DIR, start_new_session=True)

    def _announce(self, bind):
        self.stdout.write(
            self.style.SUCCESS(f"\nLeadscore is running at http://{bind}/  (Ctrl-C stops everything)")
        )
        self.stdout.write(f"Sign in as (password for all: {DEMO_PASSWORD}):")
        for username, role in demo_users():
            self.stdout.write(f"  {username:<10} {role}")

    def _watch(self):
        while True:
            for name, child in self.children.items():
                if child.poll() is None:
                    continue
                if name == "web":
                    self.stderr.write("The web server stopped unexpectedly; stopping everything.")
                    return
                # An RQ worker exits when Redis restarts under a running job; jobs are
                # idempotent and resumable, so bring it back as a supervisor would.
                self.stderr.write(f"The {name} exited (code {child.returncode}); restarting it.")
                self.children[name] = self._spawn(self.commands[name])
            time.sleep(1)

    def _on_signal(self, signum, frame):
        raise KeyboardInterrupt

    def _stop_all(self):
        children = list(self.children.values())
        for child in children:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
        embedded_redis.stop(self.redis)
        self.stdout.write("Stopped.")
