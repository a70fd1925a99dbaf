"""`start` stops every child whatever signal dispositions it inherited, and its children do
not outlive it: a script that ignores SIGINT, or an OOM kill, must not leave a web server on
the port."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from django.conf import settings

from tests.scoring_site.test_start import free_port, wait_for

pytestmark = pytest.mark.slow


def start_command(tmp_path, **popen):
    port = free_port()
    env = {**os.environ, "LEADSCORE_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)  # the start command's own database must not be the test database
    env.pop("REDIS_URL", None)
    manage = Path(settings.BASE_DIR) / "manage.py"
    process = subprocess.Popen(
        [sys.executable, str(manage), "start", "--bind", f"127.0.0.1:{port}", "--no-demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )
    status, _ = wait_for(f"http://127.0.0.1:{port}/signin/", 150)
    assert status == 200
    children = psutil.Process(process.pid).children(recursive=True)
    names = " ".join(" ".join(child.cmdline()) for child in children)
    assert all(part in names for part in ("redis-server", "gunicorn", "rqworker", "rqcron")), names
    return process, children


def alive(processes):
    return [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]


def ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_start_with_sigint_ignored_stops_every_child_on_sigint(tmp_path):
    process, children = start_command(tmp_path, preexec_fn=ignore_sigint)
    try:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Stopped." in output
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert alive(children) == []


def test_children_exit_when_start_is_killed(tmp_path):
    process, children = start_command(tmp_path)
    process.kill()  # SIGKILL: no handler of `start` runs
    process.wait(10)
    deadline = time.monotonic() + 10
    while alive(children) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = alive(children)
    for child in left:  # do not leave them behind for the next test even if this one fails
        child.kill()
    assert left == []
