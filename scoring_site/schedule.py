"""The periodic jobs and when they run (cron expressions in the server's TIME_ZONE, UTC by
default), shared by the scheduler
(scoring_site/cron.py) and the job status page.

Daily chain in dependency order: decay first (scores settle), then cold detection on the
settled scores, the snapshot just before midnight, the report in the morning;
qualification and account roll-ups run through the day so hand-offs are not late.

Jobs are named by dotted path, as everywhere jobs are queued, so reading the schedule
imports no job module."""

# (name shown to marketers, job's dotted path, cron expression, queue)
PERIODIC = (
    ("decay", "leads.background.jobs.decay_materialise", "5 0 * * *", "low"),
    ("cold leads", "leads.background.jobs.cold_detect", "20 0 * * *", "low"),
    ("qualification", "leads.background.jobs.qualification_evaluate", "*/5 * * * *", "default"),
    ("account roll-up", "leads.background.jobs.accounts_rollup_all", "30 * * * *", "low"),
    ("stage snapshot", "leads.background.jobs.stage_snapshot", "55 23 * * *", "low"),
    ("daily report", "leads.background.jobs.daily_report_send", "0 7 * * *", "default"),
    ("webhook retries", "leads.background.jobs.webhooks_retry_due", "* * * * *", "default"),
    ("outbox sweep", "leads.background.jobs.outbox_sweep", "* * * * *", "default"),
    ("recalculation watchdog", "models_review.jobs.recalculations_resume_stale", "*/5 * * * *", "default"),
    ("dashboard warm-up", "leads.background.jobs.dashboard_warm", "* * * * *", "low"),
    # Invitations left pending while Redis or the mail server was down go out on the next run.
    ("survey invitations", "surveys.jobs.pending_invitations_send", "*/10 * * * *", "default"),
    # Only leads whose pushed values moved are sent; a run still going makes the next one skip.
    ("CRM push", "leads.crm.jobs.crm_push_active", "* * * * *", "default"),
    ("CRM pull", "leads.crm.jobs.crm_pull_active", "*/15 * * * *", "low"),
    ("NPS housekeeping", "surveys.jobs.nps_housekeeping", "45 * * * *", "low"),
)
