"""The periodic jobs and when they run (cron expressions in the server's TIME_ZONE, UTC by
default), shared by the scheduler
(scoring_site/cron.py) and the job status page.

Daily chain in dependency order: decay first (scores settle), then cold detection on the
settled scores, the snapshot just before midnight, the report in the morning;
qualification and account roll-ups run through the day so hand-offs are not late."""
from leads.background import jobs
from models_review import jobs as model_jobs
from surveys import jobs as survey_jobs

# (name shown to marketers, job, cron expression, queue)
PERIODIC = (
    ("decay", jobs.decay_materialise, "5 0 * * *", "low"),
    ("cold leads", jobs.cold_detect, "20 0 * * *", "low"),
    ("qualification", jobs.qualification_evaluate, "*/5 * * * *", "default"),
    ("account roll-up", jobs.accounts_rollup_all, "30 * * * *", "low"),
    ("stage snapshot", jobs.stage_snapshot, "55 23 * * *", "low"),
    ("daily report", jobs.daily_report_send, "0 7 * * *", "default"),
    ("webhook retries", jobs.webhooks_retry_due, "* * * * *", "default"),
    ("outbox sweep", jobs.outbox_sweep, "* * * * *", "default"),
    ("recalculation watchdog", model_jobs.recalculations_resume_stale, "*/5 * * * *", "default"),
    ("dashboard warm-up", jobs.dashboard_warm, "* * * * *", "low"),
    # Invitations left pending while Redis or the mail server was down go out on the next run.
    ("survey invitations", survey_jobs.pending_invitations_send, "*/10 * * * *", "default"),
    ("NPS housekeeping", survey_jobs.nps_housekeeping, "45 * * * *", "low"),
)
