"""`manage.py start`: the whole product on one machine — embedded Redis, web, RQ worker
and cron scheduler — with demo data on first run. Ctrl-C, SIGTERM and SIGHUP stop every
process it started, and if `start` itself dies (SIGKILL, the OOM killer) its children
receive SIGTERM from the kernel and stop too."""

import ctypes
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

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def die_with_parent(parent_pid: int):
    """A preexec_fn for Popen: the child gets SIGTERM when `start` dies, however it dies.
    Signals the child inherited as ignored are restored first, so that SIGTERM (and a
    stop sent to its process group) reaches it. Elsewhere than Linux only the restore applies."""

    def prepare():
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent_pid:  # `start` died before prctl took effect
                os._exit(1)

    return prepare


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
        # Set explicitly: started from a script or nohup, SIGINT or SIGHUP may arrive ignored,
        # and an ignored Ctrl-C would leave web, worker and scheduler running.
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._on_signal)
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
            self.redis = embedded_redis.start(preexec_fn=die_with_parent(os.getpid()))
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
        return subprocess.Popen(
            command, cwd=settings.BASE_DIR, start_new_session=True, preexec_fn=die_with_parent(os.getpid())
        )

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
        # Once stopping, further signals wait their turn: a second Ctrl-C must not cut the stop short.
        for stop_signal in STOP_SIGNALS:
            signal.signal(stop_signal, signal.SIG_IGN)
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
