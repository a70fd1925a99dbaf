"""Recording job runs, so the status page can show last run, result and failure of each job."""

from __future__ import annotations

import functools
import traceback
from datetime import timedelta

from django.db import DatabaseError
from django.utils import timezone

from leads.models import JobRun


def recorded(name: str):
    """Log a JobRun around the job; a failure is stored (message and traceback) and re-raised
    so RQ's failed-job registry and the django-rq dashboard show it as well."""

    def decorate(job):
        @functools.wraps(job)
        def wrapper(*args, **kwargs):
            run = JobRun.objects.create(name=name, started_at=timezone.now())
            try:
                result = job(*args, **kwargs)
            except Exception as error:
                _finish(
                    run,
                    JobRun.Status.FAILED,
                    error=f"{type(error).__name__}: {error}\n\n{traceback.format_exc()}",
                )
                raise
            _finish(run, JobRun.Status.OK, result=str(result if result is not None else "")[:300])
            _prune(name, run.started_at)
            return result

        wrapper.recorded_as = name  # the schedule test checks every periodic job is recorded
        return wrapper

    return decorate


def _finish(run: JobRun, status: str, *, result: str = "", error: str = "") -> None:
    try:
        JobRun.objects.filter(pk=run.pk).update(
            status=status, finished_at=timezone.now(), result=result, error=error[:10_000]
        )
    except DatabaseError:
        pass  # the job's own outcome matters more than its log line


KEEP_RUNS_FOR = timedelta(days=7)


def _prune(name: str, now) -> None:
    # Jobs that run every minute would otherwise add 1,440 rows a day each; a week of
    # history answers "when did it last run, and did it fail".
    try:
        JobRun.objects.filter(name=name, started_at__lt=now - KEEP_RUNS_FOR).delete()
    except DatabaseError:
        pass
