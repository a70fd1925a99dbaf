import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from leads.models import OutboxJob, Segment
from scoring_site.queueing import outbox_sweep, queue
from surveys import jobs, services
from surveys.models import Invitation
from surveys.services import invitations_create, invitations_deliver, token_hash
from tests.factories import AccountFactory, LeadFactory
from tests.redis_fixtures import DOWN_QUEUES, run_worker

pytestmark = pytest.mark.django_db


def test_invitations_skip_recently_surveyed_and_leads_without_email(survey):
    fresh = LeadFactory(email="fresh@a.example")
    recent = LeadFactory(email="recent@a.example")
    old = LeadFactory(email="old@a.example")
    no_email = LeadFactory(email=None)
    now = timezone.now()
    Invitation.objects.create(survey=survey, lead=recent, created_at=now - timedelta(days=89))
    Invitation.objects.create(survey=survey, lead=old, created_at=now - timedelta(days=91))
    from leads.models import Lead

    batch = invitations_create(
        survey=survey, leads=Lead.objects.filter(pk__in=[fresh.pk, recent.pk, old.pk, no_email.pk]), now=now
    )
    assert (batch.invited, batch.throttled, batch.without_email) == (2, 1, 1)
    pending = Invitation.objects.filter(status="pending", created_at=now)
    assert sorted(pending.values_list("lead__email", flat=True)) == ["fresh@a.example", "old@a.example"]


def test_invitations_to_a_segment_reach_its_members_only(survey):
    acme = AccountFactory(name="Acme")
    members = [LeadFactory(account=acme), LeadFactory(account=acme)]
    LeadFactory()
    segment = Segment.objects.create(name="Acme people", filters={"account": str(acme.pk)})
    from leads.workspace.filters import segment_members

    batch = invitations_create(survey=survey, leads=segment_members(segment))
    assert batch.invited == 2
    assert set(Invitation.objects.values_list("lead_id", flat=True)) == {lead.pk for lead in members}


def test_delivery_emails_one_personal_link_per_lead_and_stores_only_its_hash(survey, spec_model, client):
    lead = LeadFactory(name="Yuki Tanaka", email="yuki@sakura.example")
    invitations_create(survey=survey, leads=type(lead).objects.filter(pk=lead.pk))
    result = invitations_deliver()
    assert result.sent == 1 and result.error == ""
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["yuki@sakura.example"]
    assert message.body.startswith("Hi Yuki,")
    token = re.search(r"/surveys/r/([^/]+)/", message.body).group(1)
    invitation = Invitation.objects.get()
    assert invitation.status == "sent"
    assert invitation.token_hash == token_hash(token) and token not in invitation.token_hash
    assert invitation.expires_at - invitation.sent_at == timedelta(days=30)
    assert client.get(reverse("surveys:respond", args=[token])).status_code == 200
    # A second run finds nothing pending: nobody gets two emails.
    assert invitations_deliver().sent == 0 and len(mail.outbox) == 1


def test_mail_server_failure_leaves_invitations_pending_with_the_error(survey, monkeypatch):
    LeadFactory(email="a@x.example")
    invitations_create(survey=survey, leads=type(LeadFactory()).objects.filter(email="a@x.example"))

    def refuse(self, messages):
        raise ConnectionRefusedError("SMTP server refused the connection")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", refuse)
    result = invitations_deliver()
    assert result.sent == 0 and "SMTP server refused" in result.error
    invitation = Invitation.objects.get()
    assert (invitation.status, invitation.token_hash, invitation.send_attempts) == ("pending", None, 1)
    assert "SMTP server refused" in invitation.last_error
    with pytest.raises(RuntimeError, match="Sent 0 invitations"):
        jobs.invitations_send(survey.pk)


def _text(response) -> str:
    """The page's text as a person reads it: template line breaks count as one space."""
    return " ".join(response.content.decode().split())


@pytest.mark.django_db(transaction=True)
def test_send_view_with_redis_down_queues_the_send_and_says_so(client, marketer, survey, redis_down):
    LeadFactory(email="mette@fjord.example")
    client.force_login(marketer)
    response = client.post(
        reverse("surveys:survey_send", args=[survey.pk]), {"emails": "Mette@fjord.example"}, follow=True
    )
    page = _text(response)
    assert response.status_code == 200
    assert "1 invitation created" in page
    assert "The invitations are saved and queued." in page
    assert "1 invitation is queued and will be sent when the background workers are back." in page
    assert Invitation.objects.get().status == "pending"
    waiting = OutboxJob.objects.get()
    assert (waiting.func_path, waiting.kwargs, waiting.sent_at) == (
        "surveys.jobs.invitations_send",
        {"survey_id": survey.pk},
        None,
    )
    # The periodic run sends pending invitations whether or not the queued send has run yet.
    assert jobs.pending_invitations_send() == 1
    assert Invitation.objects.get().status == "sent"


@pytest.mark.django_db(transaction=True)
def test_invitations_queued_while_redis_is_down_are_sent_once_it_is_back(
    client, marketer, survey, rq_redis, settings
):
    live = settings.RQ_QUEUES
    settings.RQ_QUEUES = DOWN_QUEUES
    LeadFactory(email="mette@fjord.example")
    client.force_login(marketer)
    client.post(reverse("surveys:survey_send", args=[survey.pk]), {"emails": "mette@fjord.example"})
    page = _text(client.post(reverse("surveys:survey_retry", args=[survey.pk]), follow=True))
    assert "1 invitation is queued and will be sent when the background workers are back." in page
    assert OutboxJob.objects.filter(sent_at__isnull=True).count() == 1  # pressing "send" again adds no job
    assert mail.outbox == [] and Invitation.objects.get().status == "pending"

    settings.RQ_QUEUES = live
    assert outbox_sweep() == 1
    run_worker(rq_redis, "default")
    assert [message.to for message in mail.outbox] == [["mette@fjord.example"]]
    assert Invitation.objects.get().status == "sent"
    page = client.get(reverse("surveys:survey_detail", args=[survey.pk])).content.decode()
    assert "send-waiting" not in page


def test_send_view_names_unknown_emails_and_stores_nothing(client, marketer, survey):
    client.force_login(marketer)
    response = client.post(
        reverse("surveys:survey_send", args=[survey.pk]), {"emails": "ghost@nowhere.example"}
    )
    assert response.status_code == 400
    assert "No lead has the email ghost@nowhere.example" in response.content.decode()
    assert Invitation.objects.count() == 0


def test_send_view_needs_a_segment_or_emails(client, marketer, survey):
    client.force_login(marketer)
    response = client.post(reverse("surveys:survey_send", args=[survey.pk]), {})
    assert response.status_code == 400
    assert "Choose a segment or list lead emails" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_invitations_queue_puts_one_send_job_on_the_default_queue(survey, rq_redis):
    services.invitations_queue(survey_id=survey.pk)
    [job] = queue("default").jobs
    assert (job.func_name, job.kwargs) == ("surveys.jobs.invitations_send", {"survey_id": survey.pk})
    assert not services.invitations_waiting_for_workers(survey_id=survey.pk)


def test_rep_cannot_open_survey_pages(client, rep, survey):
    client.force_login(rep)
    assert client.get(reverse("surveys:dashboard")).status_code == 403
    assert client.get(reverse("surveys:survey_detail", args=[survey.pk])).status_code == 403
    assert client.get(reverse("surveys:export")).status_code == 403


def test_marketer_creates_a_survey(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("surveys:survey_new"),
        {
            "name": "Customers Q4",
            "question": "How likely are you to recommend us?",
            "follow_up_question": "",
            "thank_you_text": "Thanks!",
            "language": "en",
            "expiry_days": "14",
            "throttle_days": "90",
            "public_link_enabled": "on",
        },
    )
    assert response.status_code == 302
    from surveys.models import Survey

    survey = Survey.objects.get(name="Customers Q4")
    assert (survey.expiry_days, survey.created_by) == (14, marketer)


def test_survey_form_names_the_bad_field(client, marketer):
    client.force_login(marketer)
    response = client.post(
        reverse("surveys:survey_new"),
        {
            "name": "",
            "question": "Q",
            "thank_you_text": "T",
            "language": "en",
            "expiry_days": "0",
            "throttle_days": "90",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Name: This field is required." in page
    assert "Expiry days: A link must stay valid for at least one day." in page
