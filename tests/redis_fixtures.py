"""Real Redis for worker integration tests: the embedded server by default, REDIS_URL in CI.

Only this project's queues (and their registries) are emptied, so a shared Redis
database is left alone otherwise."""

import pytest
from django.conf import settings

from scoring_site import embedded_redis

QUEUE_NAMES = ("default", "recalc", "low")
DOWN_QUEUES = {
    name: {"URL": "unix:///nonexistent/leadscore-redis.sock", "DEFAULT_TIMEOUT": 60} for name in QUEUE_NAMES
}


@pytest.fixture(scope="session")
def _redis_server():
    process = embedded_redis.start(persist=False) if settings.USING_EMBEDDED_REDIS else None
    yield
    embedded_redis.stop(process)


def _empty(queue):
    from rq.exceptions import NoSuchJobError
    from rq.job import Job

    queue.empty()
    for registry in (
        queue.failed_job_registry,
        queue.started_job_registry,
        queue.finished_job_registry,
        queue.deferred_job_registry,
        queue.scheduled_job_registry,
    ):
        for job_id in registry.get_job_ids():
            try:
                Job.fetch(job_id, connection=queue.connection).delete(remove_from_queue=False)
            except NoSuchJobError:
                pass
        queue.connection.delete(registry.key)


@pytest.fixture
def rq_redis(_redis_server):
    """Empty project queues on a live Redis; yields the connection."""
    from scoring_site.queueing import queue

    queues = [queue(name) for name in QUEUE_NAMES]
    for q in queues:
        _empty(q)
    yield queues[0].connection
    for q in queues:
        _empty(q)


@pytest.fixture
def redis_down(settings):
    """Every queue points at a socket nobody listens on."""
    settings.RQ_QUEUES = DOWN_QUEUES
    yield


def run_worker(connection, *names):
    """Drain the named queues with a real RQ worker in this process (sees the test database)."""
    from rq import SimpleWorker

    from scoring_site.queueing import queue

    worker = SimpleWorker([queue(name) for name in (names or QUEUE_NAMES)], connection=connection)
    worker.work(burst=True)
    return worker
