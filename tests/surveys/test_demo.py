import pytest
from django.utils import timezone

from leads.demo import load_demo_data
from leads.models import Event, Lead
from surveys.demo import load_demo_nps
from surveys.models import Response
from surveys.selectors import nps_summary


@pytest.mark.django_db
def test_demo_adds_nps_answers_through_ingest_and_is_idempotent(spec_model):
    now = timezone.now()
    load_demo_data(leads=40, accounts=4, now=now)
    personal = Response.objects.filter(channel="personal")
    assert personal.count() > 10
    assert Event.objects.filter(type="nps_response").count() == personal.count()
    assert nps_summary().has_data
    for lead in Lead.objects.filter(nps_score__isnull=False)[:20]:
        latest = personal.filter(lead=lead).order_by("-answered_at").first()
        assert (lead.nps_score, lead.nps_answered_at) == (latest.score, latest.answered_at)
    before = Response.objects.count()
    assert load_demo_nps(now=now) == 0
    assert Response.objects.count() == before
