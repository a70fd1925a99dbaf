"""Every periodic job, in one place; run by `manage.py rqcron scoring_site.cron`."""
from rq import cron

from leads import jobs

cron.register(jobs.daily_maintenance, queue_name="default", cron="15 0 * * *")
