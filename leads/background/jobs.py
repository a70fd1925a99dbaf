"""RQ jobs: thin wrappers taking primitives (ids, ISO instants) and calling one service.

Periodic ones are scheduled in scoring_site/cron.py; each run is recorded as a JobRun.
`at` (ISO 8601) pins the instant, so a rerun for the same instant is a no-op."""

from __future__ import annotations

from datetime import date, datetime

from django.utils import timezone

from leads.background import daily, decay, qualification, report
from leads.background.jobruns import recorded
from leads.ingest import imports
from leads.workspace import selectors
from scoring_site import queueing


def _instant(at: str | None) -> datetime:
    return datetime.fromisoformat(at) if at else timezone.now()


@recorded("decay")
def decay_materialise(at: str | None = None):
    return str(decay.decay_materialise(now=_instant(at)))


@recorded("stage snapshot")
def stage_snapshot(day: str | None = None):
    # Runs just before midnight: the counts at that moment stand for the whole day.
    taken_for = date.fromisoformat(day) if day else timezone.localdate()
    counts = daily.snapshot_take(day=taken_for)
    return f"{taken_for}: {sum(counts.values())} leads"


@recorded("cold leads")
def cold_detect(at: str | None = None):
    flagged, warmed = daily.cold_detect(now=_instant(at))
    return f"{flagged} flagged cold, {warmed} warmed up again"


@recorded("qualification")
def qualification_evaluate(at: str | None = None):
    qualified, rearmed = qualification.qualification_evaluate(now=_instant(at))
    return f"{qualified} qualified, {rearmed} re-armed"


@recorded("account roll-up")
def accounts_rollup_all(at: str | None = None):
    return f"{daily.accounts_rollup_all(as_of=_instant(at))} accounts"


@recorded("daily report")
def daily_report_send(at: str | None = None):
    return f"sent to {report.daily_report_send(now=_instant(at))} marketers"


@recorded("webhook retries")
def webhooks_retry_due(at: str | None = None):
    return f"{qualification.webhooks_retry_due(now=_instant(at))} retried"


def webhook_deliver(delivery_id: int):
    return qualification.webhook_deliver(delivery_id=delivery_id)


@recorded("outbox sweep")
def outbox_sweep():
    return f"{queueing.outbox_sweep()} jobs moved from the outbox"


@recorded("dashboard warm-up")
def dashboard_warm():
    return selectors.dashboard_warm()


def csv_upload_check(upload_id: int):
    imports.csv_upload_check(upload_id=upload_id)


def csv_upload_import(upload_id: int):
    imports.csv_upload_import_background(upload_id=upload_id)
