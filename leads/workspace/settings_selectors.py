"""Reads of the Settings area."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q
from redis.exceptions import RedisError
from rq.job import Job

from leads.background.report import SUBSCRIBERS_GROUP
from leads.models import WebhookDelivery
from leads.roles import MARKETERS
from scoring_site.queueing import queue

FAILED_JOBS_SHOWN = 50
DELIVERIES_SHOWN = 20


@dataclass
class FailedJob:
    queue_name: str
    job_id: str
    function: str
    error: str
    failed_at: datetime | None


def failed_jobs() -> list[FailedJob] | None:
    """The newest failed jobs of every queue with the last line of their error; None when
    Redis cannot be reached."""
    rows = []
    try:
        for name in settings.RQ_QUEUES:
            q = queue(name)
            ids = q.failed_job_registry.get_job_ids(0, FAILED_JOBS_SHOWN - 1)
            for job in Job.fetch_many(ids, connection=q.connection):
                if job is None:
                    continue
                text = job.exc_info or ""
                lines = [line for line in text.strip().splitlines() if line.strip()]
                rows.append(
                    FailedJob(name, job.id, job.func_name or "", lines[-1] if lines else "", job.ended_at)
                )
    except (RedisError, OSError):
        return None
    return rows


def recent_deliveries(endpoint):
    return WebhookDelivery.objects.filter(endpoint=endpoint).order_by("-created_at", "-id")[:DELIVERIES_SHOWN]


def report_candidates():
    """Marketers (and admins) who could receive the daily email, subscribed ones included."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name=MARKETERS) | Q(is_superuser=True) | Q(groups__name=SUBSCRIBERS_GROUP))
        .distinct()
        .order_by("username")
    )


def report_subscribers():
    return get_user_model().objects.filter(groups__name=SUBSCRIBERS_GROUP)
