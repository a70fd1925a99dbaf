"""My leads: the awaiting-feedback filter, last engaged and the short score breakdown."""

import pytest
from django.urls import reverse

from leads.ingest.events import NewEvent, events_ingest
from models_review.models import SalesFeedback
from tests.conftest import day
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db


def _names(response):
    return [lead.name for lead in response.context["page"].object_list]


def test_my_leads_awaiting_lists_handed_over_leads_without_my_yes_or_no(client, rep, spec_model):
    LeadFactory(owner=rep, name="Awaits", is_qualified=True, score=130)
    answered = LeadFactory(owner=rep, name="Answered", is_qualified=True, score=120)
    note_only = LeadFactory(owner=rep, name="Note only", is_qualified=True, score=110)
    LeadFactory(owner=rep, name="Not handed over", is_qualified=False, score=40)
    colleague_answered = LeadFactory(owner=rep, name="Colleague answered", is_qualified=True, score=100)
    LeadFactory(owner=RepFactory(), name="Someone else's", is_qualified=True)
    SalesFeedback.objects.create(lead=answered, rep=rep, really_sales_ready=False)
    SalesFeedback.objects.create(lead=note_only, rep=rep, note="call back in May")
    SalesFeedback.objects.create(lead=colleague_answered, rep=RepFactory(), really_sales_ready=True)
    client.force_login(rep)
    everything = client.get(_url())
    assert _names(everything) == ["Awaits", "Answered", "Note only", "Colleague answered", "Not handed over"]
    awaiting = client.get(_url() + "?awaiting=1")
    # A note without a yes or no is not an answer; a colleague's answer is not mine.
    assert _names(awaiting) == ["Awaits", "Note only", "Colleague answered"]
    assert "Awaiting my feedback (3)" in awaiting.content.decode()


def test_my_leads_awaiting_with_nothing_left_says_so(client, rep, spec_model):
    answered = LeadFactory(owner=rep, is_qualified=True)
    SalesFeedback.objects.create(lead=answered, rep=rep, really_sales_ready=True)
    client.force_login(rep)
    page = client.get(_url() + "?awaiting=1").content.decode()
    assert "Nothing awaits your feedback" in page and "Awaiting my feedback (0)" in page


def test_my_leads_rows_show_top_contributions_and_last_engaged(client, rep, spec_model):
    lead = LeadFactory(owner=rep, name="Busy", is_qualified=True)
    events_ingest(
        events=[
            NewEvent(type="form_submit", occurred_at=day(0), lead_id=lead.pk),
            NewEvent(type="form_submit", occurred_at=day(1), lead_id=lead.pk),
            NewEvent(type="video_play", occurred_at=day(2), lead_id=lead.pk, properties={"percent": 100}),
            NewEvent(type="page_view", occurred_at=day(3), lead_id=lead.pk, url="https://x.example/careers/"),
        ],
        now=day(3),
    )
    client.force_login(rep)
    response = client.get(_url())
    row = response.context["page"].object_list[0]
    # Two forms 25 + 25 = 50, a full video 20, the careers page −10: biggest first, per rule.
    assert [(label, round(points, 2)) for label, points in row.breakdown.top] == [
        ("form_submit (25)", 50.0),
        ("video_play (20)", 20.0),
        ("page_view · */careers* (-10)", -10.0),
    ]
    body = response.content.decode()
    assert "form_submit (25): 50" in body and "video_play (20): 20" in body
    assert "Last engaged" in body


def _url():
    return reverse("models_review:my_leads")
