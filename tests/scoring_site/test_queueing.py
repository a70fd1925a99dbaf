import ast
from pathlib import Path

import pytest
from django.db import transaction

from leads.models import OutboxJob
from scoring_site.queueing import enqueue_or_outbox, outbox_sweep, queue, waiting_for_workers
from tests.redis_fixtures import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_enqueue_or_outbox_with_redis_down_keeps_the_job_in_the_outbox(redis_down):
    with transaction.atomic():
        result = enqueue_or_outbox("default", "leads.background.jobs.outbox_sweep", reference="test:1")
    row = OutboxJob.objects.get(pk=result.outbox_id)
    assert result.waiting is True
    assert row.sent_at is None and row.attempts == 1
    assert "nonexistent" in row.last_error or row.last_error
    assert waiting_for_workers("test:1")


def test_outbox_sweep_moves_waiting_jobs_once_redis_is_back(rq_redis, settings):
    from tests.redis_fixtures import DOWN_QUEUES

    live = settings.RQ_QUEUES
    settings.RQ_QUEUES = DOWN_QUEUES
    result = enqueue_or_outbox("default", "leads.background.jobs.outbox_sweep", reference="test:2")
    assert result.waiting
    assert outbox_sweep() == 0  # still down: nothing moves, nothing is lost
    settings.RQ_QUEUES = live
    assert outbox_sweep() == 1
    assert queue("default").count == 1
    assert not waiting_for_workers("test:2")
    assert outbox_sweep() == 0  # a sent row is never sent again


def test_enqueue_or_outbox_with_redis_up_sends_at_commit(rq_redis):
    with transaction.atomic():
        result = enqueue_or_outbox("low", "leads.background.jobs.outbox_sweep")
        assert queue("low").count == 0  # not before the commit: the worker must see our rows
    assert result.waiting is False and result.job_id == f"outbox-{result.outbox_id}"
    assert queue("low").count == 1
    run_worker(rq_redis, "low")
    assert queue("low").count == 0 and queue("low").failed_job_registry.count == 0


def test_enqueue_or_outbox_keeps_the_job_timeout_while_redis_is_down(rq_redis, settings):
    from tests.redis_fixtures import DOWN_QUEUES

    live = settings.RQ_QUEUES
    settings.RQ_QUEUES = DOWN_QUEUES
    long = enqueue_or_outbox(
        "default", "leads.background.jobs.outbox_sweep", reference="test:3", job_timeout=3600
    )
    usual = enqueue_or_outbox("default", "leads.background.jobs.outbox_sweep", reference="test:4")
    assert OutboxJob.objects.get(pk=long.outbox_id).job_timeout == 3600
    settings.RQ_QUEUES = live
    assert outbox_sweep() == 2
    timeouts = {job.id: job.timeout for job in queue("default").jobs}
    # 600 seconds is the "default" queue's DEFAULT_TIMEOUT in settings.
    assert timeouts == {f"outbox-{long.outbox_id}": 3600, f"outbox-{usual.outbox_id}": 600}


RQ_ENQUEUE_CALLS = {"enqueue", "enqueue_call", "enqueue_many", "enqueue_at", "enqueue_in"}
PROJECT_PACKAGES = ("leads", "models_review", "surveys", "scoring_site")


def _modules_calling_rq_enqueue() -> dict[str, list[int]]:
    """Project modules (relative paths) with the line numbers where they call an RQ enqueue method."""
    root = Path(__file__).resolve().parents[2]
    found = {}
    for package in PROJECT_PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            lines = [
                node.lineno
                for node in ast.walk(tree)
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in RQ_ENQUEUE_CALLS
            ]
            if lines:
                found[path.relative_to(root).as_posix()] = lines
    return found


def test_queueing_is_the_only_module_that_calls_an_rq_enqueue():
    # Anywhere else a direct enqueue would lose the job, or fail the request, while Redis is down:
    # use scoring_site.queueing.enqueue_or_outbox with the job's dotted path instead.
    found = _modules_calling_rq_enqueue()
    assert "scoring_site/queueing.py" in found  # the helper's own call: the search sees what it looks for
    assert {path: lines for path, lines in found.items() if path != "scoring_site/queueing.py"} == {}
