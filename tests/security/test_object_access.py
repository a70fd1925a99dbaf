"""Object-level access: a sales rep cannot read or write another rep's leads,
feedback, tags or score adjustments, through pages or the read API; marketers see everything."""

import pytest
from django.urls import reverse

from leads.ingest import credentials
from leads.models import Event, Lead
from models_review.models import SalesFeedback
from tests.factories import RepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def others_lead(spec_model):
    other = RepFactory(username="other-rep")
    return Lead.objects.create(email="secret@example.com", owner=other, score=40)


def test_a_rep_gets_404_for_another_reps_lead_pages(client, rep, others_lead):
    client.force_login(rep)
    pk = others_lead.pk
    reads = [
        reverse("leads:detail", args=[pk]),
        reverse("leads:chart_lead", args=[pk]),
        reverse("models_review:lead_feedback", args=[pk]),
    ]
    assert [client.get(url).status_code for url in reads] == [404, 404, 404]
    assert "secret@example.com" not in client.get(reverse("leads:list")).content.decode()
    assert "secret@example.com" not in client.get(reverse("models_review:my_leads")).content.decode()


def test_a_rep_cannot_write_to_another_reps_lead(client, rep, others_lead):
    client.force_login(rep)
    pk = others_lead.pk
    tag = client.post(reverse("leads:tags", args=[pk]), {"add": "hot"})
    feedback = client.post(
        reverse("models_review:lead_feedback", args=[pk]),
        {"really_sales_ready": "no", "reason": "", "outcome": "", "note": "mine now"},
    )
    adjust = client.post(reverse("leads:adjust", args=[pk]), {"points": "50", "reason": "because"})
    assert (tag.status_code, feedback.status_code) == (404, 404)
    assert adjust.status_code in (403, 404)  # adjustments are for marketers only
    others_lead.refresh_from_db()
    assert others_lead.score == 40 and not others_lead.tags.exists()
    assert not SalesFeedback.objects.exists() and not Event.objects.filter(lead=others_lead).exists()


def test_the_read_api_refuses_reps_and_anonymous_callers(client, rep, others_lead):
    url = reverse("api:lead", args=[others_lead.email])
    assert client.get(url).status_code == 401
    client.force_login(rep)  # a session is not an API credential
    assert client.get(url).status_code == 401
    _, secret, _ = credentials.api_token_create(username=rep.username)  # a token issued to a rep
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {secret}")
    assert response.status_code == 403 and "secret@example.com" not in response.content.decode()


def test_a_marketer_reads_every_lead(client, marketer, others_lead):
    client.force_login(marketer)
    assert client.get(reverse("leads:detail", args=[others_lead.pk])).status_code == 200
