"""Per-write-key rate limit for the tracking API: a token bucket per key in each web
process. Write keys sit in public web pages, so a leaked key must not be able to flood the
database; in-process buckets cost no Redis round trip on the hot path (the effective limit
is the setting times the number of web processes)."""

from __future__ import annotations

import math
import threading
import time

from django.conf import settings

_buckets: dict[int, tuple[float, float]] = {}  # write key id → (tokens, last refill, monotonic)
_lock = threading.Lock()


def events_per_minute() -> int:
    return int(getattr(settings, "TRACKING_EVENTS_PER_MINUTE", 600_000))


def take(key_id: int, messages: int) -> float:
    """Spend `messages` tokens, all or none; returns 0 when allowed, else the seconds to wait."""
    capacity = events_per_minute()
    if capacity <= 0:
        return 0.0  # 0 turns the limit off
    rate = capacity / 60.0
    now = time.monotonic()
    with _lock:
        tokens, last = _buckets.get(key_id, (float(capacity), now))
        tokens = min(float(capacity), tokens + (now - last) * rate)
        if tokens >= messages:
            _buckets[key_id] = (tokens - messages, now)
            return 0.0
        _buckets[key_id] = (tokens, now)
        if messages > capacity:
            return 60.0  # more than a full bucket ever holds: refused whatever the wait
        return (messages - tokens) / rate


def reset() -> None:
    with _lock:
        _buckets.clear()


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
