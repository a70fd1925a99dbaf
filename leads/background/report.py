"""The daily report email (§5) to marketers in the "Daily report" group."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from statistics import median

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import Count, F, Min
from django.template.loader import render_to_string

from leads.models import Event, Lead, Qualification, Stage, StageChange, StageSnapshot

SUBSCRIBERS_GROUP = "Daily report"
LIST_LIMIT = 20


@dataclass
class StageLine:
    label: str
    count: int
    yesterday: int | None

    @property
    def change(self) -> int | None:
        return None if self.yesterday is None else self.count - self.yesterday


@dataclass
class DailyReport:
    day: date
    stages: list[StageLine]
    total: int
    moved_up: int
    moved_down: int
    median_days_to_sales_ready: float | None
    new_sales_ready: list[Qualification] = field(default_factory=list)
    new_sales_ready_count: int = 0
    cold_count: int = 0
    newly_cold: int = 0


def daily_report_build(*, now: datetime) -> DailyReport:
    since = now - timedelta(days=1)
    counts = dict(Lead.objects.values_list("stage").annotate(n=Count("id")).order_by())
    yesterday = dict(
        StageSnapshot.objects.filter(day=(now - timedelta(days=1)).date()).values_list("stage", "count")
    )
    stages = [
        StageLine(stage.label, counts.get(stage.value, 0), yesterday.get(stage.value) if yesterday else None)
        for stage in Stage
    ]
    changes = StageChange.objects.filter(at__gt=since, at__lte=now)
    qualified = Qualification.objects.filter(at__gt=since, at__lte=now).select_related("lead", "rep")
    return DailyReport(
        day=now.date(),
        stages=stages,
        total=sum(counts.values()),
        moved_up=changes.filter(to_stage__gt=F("from_stage")).count(),
        moved_down=changes.filter(to_stage__lt=F("from_stage")).count(),
        median_days_to_sales_ready=_median_days_to_sales_ready(now),
        new_sales_ready=list(qualified.order_by("-score")[:LIST_LIMIT]),
        new_sales_ready_count=qualified.count(),
        cold_count=Lead.objects.filter(is_cold=True).count(),
        newly_cold=Lead.objects.filter(is_cold=True, cold_since__gt=since, cold_since__lte=now).count(),
    )


def _median_days_to_sales_ready(now: datetime) -> float | None:
    """Velocity: for leads that became sales-ready in the last 30 days, days from first event to then."""
    rows = StageChange.objects.filter(
        to_stage=Stage.SALES_READY, at__gt=now - timedelta(days=30), at__lte=now
    ).values_list("lead__created_at", "at", "lead_id")
    first_events = dict(
        Event.objects.filter(lead_id__in=[r[2] for r in rows])
        .values_list("lead_id")
        .annotate(first=Min("occurred_at"))
        .order_by()
    )
    days = [
        (at - min(created, first_events.get(lead_id, created))).total_seconds() / 86400
        for created, at, lead_id in rows
    ]
    return round(median(days), 1) if days else None


def daily_report_send(*, now: datetime) -> int:
    """Email the report to every subscribed marketer with an address. Returns how many were sent."""
    recipients = list(
        get_user_model()
        .objects.filter(groups__name=SUBSCRIBERS_GROUP, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if not recipients:
        return 0
    report = daily_report_build(now=now)
    # A job rerun (retry, second scheduler, manual re-run) must not mail the same day twice.
    sent_key = f"leadscore:daily-report-sent:{report.day.isoformat()}"
    if not cache.add(sent_key, True, timeout=3 * 24 * 3600):
        return 0
    try:
        return _report_mail(report, recipients)
    except Exception:
        cache.delete(sent_key)  # not sent: a rerun may try again
        raise


def _report_mail(report, recipients) -> int:
    context = {"report": report, "site_url": settings.SITE_URL.rstrip("/")}
    text = render_to_string("leads/email/daily_report.txt", context)
    html = render_to_string("leads/email/daily_report.html", context)
    connection = get_connection()
    messages = []
    for address in recipients:
        message = EmailMultiAlternatives(
            f"Leadscore daily report — {report.day:%d %b %Y}", text, None, [address], connection=connection
        )
        message.attach_alternative(html, "text/html")
        messages.append(message)
    return connection.send_messages(messages) or 0
