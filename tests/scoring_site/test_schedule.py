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
