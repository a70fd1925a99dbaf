import pytest
from rq.cron import CronScheduler

from scoring_site.queueing import queue
from scoring_site.schedule import PERIODIC


@pytest.mark.django_db
def test_schedule_every_dotted_path_registers_with_rq_cron_under_its_own_name():
    scheduler = CronScheduler(connection=queue("default").connection)
    scheduler.load_config_from_file("scoring_site.cron")  # what `manage.py rqcron scoring_site.cron` loads
    registered = {(job.name, job.func_name, job.cron, job.queue_name) for job in scheduler.get_jobs()}
    # RQ names each job by the imported function's module and name: equal to the schedule's path.
    assert registered == set(PERIODIC)
    assert len(registered) == 15


def test_schedule_every_periodic_job_records_its_runs_under_its_schedule_name():
    from django.utils.module_loading import import_string

    unrecorded = [
        name for name, path, _, _ in PERIODIC if getattr(import_string(path), "recorded_as", None) != name
    ]
    assert unrecorded == []


@pytest.mark.django_db
def test_recorded_job_keeps_a_week_of_runs():
    from datetime import timedelta

    from django.utils import timezone

    from leads.background.jobruns import recorded
    from leads.models import JobRun

    now = timezone.now()
    JobRun.objects.create(name="tick", started_at=now - timedelta(days=8), status="ok")
    JobRun.objects.create(name="tick", started_at=now - timedelta(days=6), status="ok")
    JobRun.objects.create(name="other", started_at=now - timedelta(days=30), status="ok")
    recorded("tick")(lambda: "done")()
    kept = sorted((r.name, round((now - r.started_at) / timedelta(days=1))) for r in JobRun.objects.all())
    assert kept == [("other", 30), ("tick", 0), ("tick", 6)]  # the 8-day-old tick is gone
