"""Reads for the job status page: periodic jobs, queues, outbox, recent failures."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from croniter import croniter
from django.conf import settings
from django.utils import timezone
from redis.exceptions import RedisError

from leads.models import JobRun, OutboxJob
from scoring_site.queueing import queue
from scoring_site.schedule import PERIODIC


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    schedule: str
    queue: str
    next_run: datetime
    last: JobRun | None
    last_success: JobRun | None


@dataclass(frozen=True)
class QueueState:
    name: str
    waiting: int
    running: int
    failed: int


def periodic_jobs(*, now: datetime | None = None) -> list[PeriodicJob]:
    now = now or timezone.now()
    jobs = []
    for name, _job, schedule, queue_name in PERIODIC:
        runs = JobRun.objects.filter(name=name).order_by("-started_at", "-id")
        jobs.append(
            PeriodicJob(
                name=name,
                schedule=schedule,
                queue=queue_name,
                next_run=croniter(schedule, now.astimezone(timezone.get_fixed_timezone(0))).get_next(
                    datetime
                ),
                last=runs.first(),
                last_success=runs.filter(status=JobRun.Status.OK).first(),
            )
        )
    return jobs


def queue_states() -> list[QueueState] | None:
    """Lengths of every queue, or None when Redis does not answer."""
    try:
        states = []
        for name in settings.RQ_QUEUES:
            q = queue(name)
            states.append(
                QueueState(name, q.count, q.started_job_registry.count, q.failed_job_registry.count)
            )
        return states
    except (RedisError, OSError):
        return None


def outbox_waiting() -> int:
    return OutboxJob.objects.filter(sent_at__isnull=True).count()


def recent_failures(limit: int = 10):
    return JobRun.objects.filter(status=JobRun.Status.FAILED).order_by("-started_at", "-id")[:limit]
