"""The README's first command: everything starts, serves sign-in, and Ctrl-C stops it all."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from django.conf import settings

pytestmark = pytest.mark.slow


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url, seconds):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, response.read()
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"{url} did not answer within {seconds} s")


def test_start_serves_sign_in_and_ctrl_c_stops_every_process(tmp_path):
    port = free_port()
    env = {**os.environ, "LEADSCORE_VAR_DIR": str(tmp_path)}
    if "DATABASE_URL" in env:  # the start command's own database must not be the test database
        env.pop("DATABASE_URL")
    env.pop("REDIS_URL", None)
    manage = Path(settings.BASE_DIR) / "manage.py"
    process = subprocess.Popen(
        [sys.executable, str(manage), "start", "--bind", f"127.0.0.1:{port}", "--demo-leads", "40"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status, body = wait_for(f"http://127.0.0.1:{port}/signin/", 150)
        assert status == 200 and b"Sign in" in body
        assert (
            len(psutil.Process(process.pid).children(recursive=True)) >= 4
        )  # redis, gunicorn, rqworker, rqcron
        # A worker that dies (as RQ workers do when Redis restarts mid-job) is brought back.
        worker = next(
            p for p in psutil.Process(process.pid).children() if "rqworker" in " ".join(p.cmdline())
        )
        worker.kill()
        worker.wait(10)
        deadline = time.monotonic() + 20
        while not any("rqworker" in " ".join(p.cmdline()) for p in psutil.Process(process.pid).children()):
            assert time.monotonic() < deadline, "the worker was not restarted"
            time.sleep(0.5)
        children = psutil.Process(process.pid).children(recursive=True)
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output
    assert "marketer" in output and "leadscore-demo" in output
    still_running = [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]
    assert still_running == []
