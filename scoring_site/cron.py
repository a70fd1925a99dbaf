"""Every periodic job, in one place; run by `manage.py rqcron scoring_site.cron`."""
from rq import cron

from leads import jobs

cron.register(jobs.daily_maintenance, queue_name="default", cron="15 0 * * *")

from surveys import jobs as survey_jobs  # noqa: E402

# Invitations left pending while Redis or the mail server was down go out on the next run.
cron.register(survey_jobs.pending_invitations_send, queue_name="default", interval=600)
cron.register(survey_jobs.nps_housekeeping, queue_name="low", cron="45 * * * *")
