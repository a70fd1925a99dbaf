"""Putting jobs on the queue without ever losing one.

Every enqueue writes an outbox row first, in the caller's transaction, and pushes it to
Redis once that transaction commits. If Redis is down the row simply waits: the sweeper
(every minute from the scheduler, and when `manage.py start` begins) moves waiting rows
into the queue once Redis answers again. So a marketer publishing a version while Redis
is down gets "queued, starts when the workers are back" instead of a 500, and nothing
depends on Redis being up at the moment of the click."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import django_rq
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from redis.exceptions import RedisError
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import StartedJobRegistry

log = logging.getLogger(__name__)

SWEEP_BATCH = 500


@dataclass
class Enqueued:
    """What happened to a job request; `waiting` is known once the caller's transaction commits."""

    outbox_id: int
    waiting: bool = True
    job_id: str | None = None


def queue(name: str):
    # "auto" commit mode: we already wait for the commit ourselves (see enqueue_or_outbox).
    return django_rq.get_queue(name, commit_mode="auto")


def redis_available(queue_name: str = "default") -> bool:
    try:
        return bool(queue(queue_name).connection.ping())
    except (RedisError, OSError):
        return False


def enqueue_or_outbox(
    queue_name: str, func_path: str, *, reference: str = "", job_timeout: int | None = None, **kwargs
) -> Enqueued:
    """Enqueue `func_path(**kwargs)` on `queue_name` after the current transaction commits.

    kwargs must be JSON primitives (ids, ISO instants). `job_timeout` (seconds) is for the
    rare job that may run longer than its queue's DEFAULT_TIMEOUT. Never raises for a Redis outage."""
    from leads.models import OutboxJob

    row = OutboxJob.objects.create(
        queue_name=queue_name,
        func_path=func_path,
        kwargs=kwargs,
        reference=reference,
        job_timeout=job_timeout,
    )
    result = Enqueued(outbox_id=row.pk)

    def push():
        job_id = _push(row)
        result.waiting, result.job_id = job_id is None, job_id

    transaction.on_commit(push)
    return result


def _push(row) -> str | None:
    """Send one outbox row to Redis; mark it sent. Returns the job id, or None if Redis is down."""
    from leads.models import OutboxJob

    try:
        job = queue(row.queue_name).enqueue_call(
            row.func_path,
            kwargs=row.kwargs,
            timeout=row.job_timeout,
            job_id=f"outbox-{row.pk}",
            description=row.reference or None,
        )
    except (RedisError, OSError) as error:
        log.warning("Redis unavailable; job %s stays in the outbox: %s", row.func_path, error)
        OutboxJob.objects.filter(pk=row.pk).update(attempts=row.attempts + 1, last_error=str(error)[:300])
        return None
    OutboxJob.objects.filter(pk=row.pk).update(
        sent_at=timezone.now(), attempts=row.attempts + 1, last_error=""
    )
    return job.id


def outbox_sweep() -> int:
    """Move waiting outbox rows into their queues; stops at the first Redis failure."""
    from leads.models import OutboxJob

    sent = 0
    for row in OutboxJob.objects.filter(sent_at__isnull=True).order_by("id")[:SWEEP_BATCH]:
        if _push(row) is None:
            break
        sent += 1
    return sent


def waiting_for_workers(reference: str) -> bool:
    """True while a job for `reference` sits in the outbox because Redis was down."""
    from leads.models import OutboxJob

    return OutboxJob.objects.filter(reference=reference, sent_at__isnull=True).exists()


ENDED_UNFINISHED = (JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED)


def job_ended_unfinished(reference: str) -> str | None:
    """Why the latest job sent for `reference` ended without its work being finished, said
    for people; None while it waits, runs or has finished, and when Redis cannot tell (the
    pages say Redis is down on their own). The caller knows whether the work is finished."""
    from leads.models import OutboxJob

    row = OutboxJob.objects.filter(reference=reference, sent_at__isnull=False).order_by("-id").first()
    if row is None:
        return None
    try:
        jobs = queue(row.queue_name)
        # A worker that died mid-job stops its heartbeat; cleaning the registry marks its
        # job failed (abandoned) once the heartbeat has expired.
        StartedJobRegistry(queue=jobs).cleanup()
        status = Job.fetch(f"outbox-{row.pk}", connection=jobs.connection).get_status()
    except NoSuchJobError:
        return "its background job is no longer in the queue (was Redis restarted?)"
    except (RedisError, OSError):
        return None
    if status in ENDED_UNFINISHED:
        return "the background worker stopped before the end"
    return None


def chunk_jobs_wanted(queue_name: str) -> bool:
    """Whether work over every lead goes out as chunk jobs on `queue_name` (setting CHUNK_JOBS):
    "always", "never", or "auto": once more than one worker listens on the queue, since one
    job with its own parallel writers is the faster path on a single machine."""
    if settings.CHUNK_JOBS in ("always", "never"):
        return settings.CHUNK_JOBS == "always"
    return workers_listening(queue_name) > 1


def workers_listening(queue_name: str) -> int:
    """RQ workers listening on `queue_name` on any machine; 0 when Redis does not answer."""
    try:
        listening = queue(queue_name)
        return Worker.count(connection=listening.connection, queue=listening)
    except (RedisError, OSError):
        return 0  # no answer from Redis: one job is always right
