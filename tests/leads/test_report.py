from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from leads.background.report import SUBSCRIBERS_GROUP, daily_report_build, daily_report_send
from leads.models import Lead, Qualification, StageChange, StageSnapshot
from tests.conftest import day
from tests.factories import LeadFactory, MarketerFactory

pytestmark = pytest.mark.django_db


def test_daily_report_figures(spec_model):
    hot = LeadFactory(stage=4, score=120, name="Ada Hot")
    LeadFactory.create_batch(2, stage=1)
    LeadFactory(stage=2, is_cold=True, cold_since=day(9) + (day(1) - day(0)) / 2)
    Lead.objects.update(created_at=day(0))
    for stage, count in {1: 4, 2: 0, 4: 0}.items():
        StageSnapshot.objects.create(day=date(2026, 1, 10), stage=stage, count=count)
    StageChange.objects.create(lead=hot, from_stage=3, to_stage=4, at=day(10), reason="event")
    StageChange.objects.create(
        lead=hot, from_stage=2, to_stage=3, at=day(9) + (day(1) - day(0)) / 2, reason="event"
    )
    StageChange.objects.create(
        lead=hot, from_stage=4, to_stage=3, at=day(5), reason="decay"
    )  # older than 24 h
    Qualification.objects.create(lead=hot, at=day(10), score=120)
    report = daily_report_build(now=day(10) + (day(1) - day(0)) / 4)
    lines = {line.label: (line.count, line.change) for line in report.stages}
    assert lines["Stage 1"] == (2, -2) and lines["Sales-ready (MQL)"] == (1, 1) and lines["Stage 2"] == (1, 1)
    assert (report.total, report.moved_up, report.moved_down) == (4, 2, 0)
    assert report.median_days_to_sales_ready == 10.0  # created day 0, sales-ready day 10
    assert [q.lead.name for q in report.new_sales_ready] == ["Ada Hot"]
    assert (report.cold_count, report.newly_cold) == (1, 1)


def test_daily_report_goes_to_subscribed_marketers_only_as_text_and_html(spec_model):
    subscribed = MarketerFactory(username="ann")
    subscribed.groups.add(Group.objects.get_or_create(name=SUBSCRIBERS_GROUP)[0])
    MarketerFactory(username="bob")  # not subscribed
    LeadFactory(stage=4, score=150, name="Grace Ready")
    assert daily_report_send(now=day(3)) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@example.com"] and message.subject == "Leadscore daily report — 04 Jan 2026"
    assert "Sales-ready (MQL)" in message.body and "NEW SALES-READY LEADS: 0" in message.body
    html = message.alternatives[0][0]
    assert "<table" in html and "Cold leads: 0" in html


def test_daily_report_without_subscribers_sends_nothing(spec_model):
    assert daily_report_send(now=day(3)) == 0
    assert mail.outbox == []
