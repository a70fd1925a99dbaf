"""Site-wide template context: the "Redis is unavailable" notice every signed-in page shows."""

import time

from django.conf import settings

from scoring_site.queueing import redis_available

# A ping per page view would be cheap but not free; a few seconds old is fresh enough for a notice.
PING_SECONDS = 5.0
_last_ping: dict[str, tuple[float, bool]] = {}  # Redis URL → (monotonic time, answered)


def redis_status(request) -> dict:
    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {}
    url = str(settings.RQ_QUEUES["default"].get("URL", ""))
    now = time.monotonic()
    checked = _last_ping.get(url)
    if checked is None or now - checked[0] > PING_SECONDS:
        checked = _last_ping[url] = (now, redis_available())
    return {"redis_down": not checked[1]}
