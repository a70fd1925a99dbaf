"""Every daily job is enqueued exactly once per day, also across the
daylight-saving changes, with the server in New York or Copenhagen; and running a daily job
twice on one day changes nothing the second time.

The enqueue instants come from RQ's own CronJob (what `rqcron scoring_site.cron` runs), which
reads cron fields in the process's local time: Django sets TZ from TIME_ZONE."""

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from rq.cron import CronJob

from leads.background import daily, decay, report
from leads.ingest.events import NewEvent, events_ingest
from leads.models import Lead, StageSnapshot
from scoring_site.schedule import PERIODIC
from tests.conftest import day
from tests.factories import LeadFactory, MarketerFactory

DAILY = [
    (name, job, cron, queue)
    for name, job, cron, queue in PERIODIC
    if cron.split()[2:] == ["*", "*", "*"] and cron.split()[0].isdigit() and cron.split()[1].isdigit()
]
DST_CHANGES = [
    ("America/New_York", datetime(2026, 3, 4)),
    ("America/New_York", datetime(2026, 10, 28)),
    ("Europe/Copenhagen", datetime(2026, 3, 25)),
    ("Europe/Copenhagen", datetime(2026, 10, 21)),
]


def enqueue_days(job, cron, zone: ZoneInfo, start: datetime, days: int) -> Counter:
    """Local dates of every enqueue RQ's scheduler makes in `days` days from local `start`."""
    cron_job = CronJob(func_name=job, cron=cron, queue_name="low")
    end = (start + timedelta(days=days)).replace(tzinfo=zone)
    cron_job.set_enqueue_time(start.replace(tzinfo=zone))
    dates = Counter()
    while cron_job.next_enqueue_time < end:
        at = cron_job.next_enqueue_time
        dates[at.astimezone(zone).date()] += 1
        cron_job.set_enqueue_time(at)
    return dates


def test_there_are_daily_jobs():
    assert {name for name, *_ in DAILY} == {
        "decay",
        "cold leads",
        "likelihood",
        "stage snapshot",
        "daily report",
    }


@pytest.mark.parametrize("zone_name,start", DST_CHANGES, ids=[f"{z}-{s:%m-%d}" for z, s in DST_CHANGES])
def test_each_daily_job_is_enqueued_once_per_day_across_a_dst_change(settings, zone_name, start):
    settings.TIME_ZONE = zone_name  # also sets TZ for this process, as in the scheduler's
    zone = ZoneInfo(zone_name)
    assert zone.utcoffset(start) != zone.utcoffset(start + timedelta(days=10))  # the window spans the change
    for name, job, cron, _ in DAILY:
        dates = enqueue_days(job, cron, zone, start, days=10)
        assert dates == Counter({(start + timedelta(days=n)).date(): 1 for n in range(10)}), name


@pytest.mark.django_db
def test_decay_cold_and_snapshot_twice_on_one_day_change_nothing_the_second_time(spec_model):
    lead = LeadFactory()
    events_ingest(
        events=[
            NewEvent(type=kind, occurred_at=day(0), lead_id=lead.pk, name=name)
            for kind, name in (("form_submit", ""), ("video_play", ""), ("custom", "Trial Started"))
        ],
        now=day(0),
    )
    first = (
        str(decay.decay_materialise(now=day(60))),
        daily.cold_detect(now=day(60)),
        daily.snapshot_take(day=day(60).date()),
    )
    table = list(Lead.objects.values_list("pk", "score", "scored_at", "stage", "is_cold"))
    snapshots = list(StageSnapshot.objects.values_list("day", "stage", "count"))
    second = (
        str(decay.decay_materialise(now=day(60) + timedelta(hours=3))),
        daily.cold_detect(now=day(60) + timedelta(hours=3)),
        daily.snapshot_take(day=day(60).date()),
    )
    assert first[0].startswith("1 leads decayed") and first[1] == (1, 0)
    assert second[:2] == ("0 leads decayed, 0 product scores, 0 stages moved back", (0, 0))
    assert list(Lead.objects.values_list("pk", "score", "scored_at", "stage", "is_cold")) == table
    assert list(StageSnapshot.objects.values_list("day", "stage", "count")) == snapshots


@pytest.mark.django_db
def test_the_daily_report_sent_twice_on_one_day_reaches_each_marketer_once(spec_model):
    from django.contrib.auth.models import Group

    marketer = MarketerFactory(email="ada@example.com")
    marketer.groups.add(Group.objects.get_or_create(name=report.SUBSCRIBERS_GROUP)[0])
    assert report.daily_report_send(now=day(5)) == 1
    assert report.daily_report_send(now=day(5) + timedelta(hours=2)) == 0
    assert len(mail.outbox) == 1
    assert report.daily_report_send(now=day(6)) == 1
