"""A real RQ queue for integration and browser tests; import the fixture where needed."""

import pytest
from django.conf import settings


@pytest.fixture
def rq_queue():
    """The real "default" queue: the embedded redis-server on the test's own socket, else
    REDIS_URL. Only this queue is emptied, before and after."""
    import django_rq

    from scoring_site import embedded_redis

    process = embedded_redis.start(persist=False) if settings.USING_EMBEDDED_REDIS else None
    queue = django_rq.get_queue("default")
    queue.empty()
    yield queue
    queue.empty()
    embedded_redis.stop(process)
