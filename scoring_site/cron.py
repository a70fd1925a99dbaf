"""Every periodic job, in one place; run by `manage.py rqcron scoring_site.cron`.
The list itself is in scoring_site/schedule.py (the status page reads it too)."""

import logging

from django.utils.module_loading import import_string
from rq import cron

from scoring_site import queueing
from scoring_site.schedule import PERIODIC

# RQ's cron.register takes the function itself, not its dotted path; importing it here also
# makes a mistyped path stop the scheduler at start instead of failing a job at every tick.
for _name, _job_path, _cron, _queue in PERIODIC:
    cron.register(import_string(_job_path), queue_name=_queue, cron=_cron, name=_name)

# The scheduler starting is a moment Redis is known to answer: move waiting jobs now
# rather than at the first minute tick.
try:
    queueing.outbox_sweep()
except Exception as error:  # noqa: BLE001 - e.g. not migrated yet; the minute sweep retries
    logging.getLogger(__name__).warning("Outbox sweep at scheduler start failed: %s", error)
