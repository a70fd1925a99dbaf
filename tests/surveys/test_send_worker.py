"""Sending through a real queue and a real RQ worker (embedded Redis, or REDIS_URL in CI)."""

import pytest
from django.core import mail
from django.urls import reverse

from surveys.models import Invitation
from tests.factories import LeadFactory, SurveyFactory
from tests.rq_support import rq_queue  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_send_view_enqueues_and_a_worker_emails_each_lead_once(client, marketer, spec_model, rq_queue):  # noqa: F811
    from rq import SimpleWorker

    survey = SurveyFactory(name="Autumn NPS")
    LeadFactory(name="Lars Larsen", email="lars@summit.example")
    LeadFactory(name="Rita Liepa", email="rita@amber.example")
    client.force_login(marketer)
    response = client.post(
        reverse("surveys:survey_send", args=[survey.pk]),
        {"emails": "lars@summit.example\nrita@amber.example"},
        follow=True,
    )
    assert "2 invitations created" in response.content.decode()
    assert rq_queue.count == 1
    SimpleWorker([rq_queue], connection=rq_queue.connection).work(burst=True)
    assert sorted(m.to[0] for m in mail.outbox) == ["lars@summit.example", "rita@amber.example"]
    assert set(Invitation.objects.values_list("status", flat=True)) == {"sent"}
