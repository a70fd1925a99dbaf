import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, close_old_connections, transaction
from django.utils import timezone

from leads.models import Event, Lead
from leads.workspace.filters import filtered_leads, parse_filters
from models_review.services import version_import
from surveys.models import Invitation, Response
from surveys.services import AlreadyAnswered, invitation_for_token, response_record
from tests.conftest import SPEC_MODEL
from tests.factories import LeadFactory
from tests.surveys.conftest import issue_link


@pytest.mark.django_db
def test_answer_sets_latest_nps_on_lead_and_ingests_an_event(personal_link, survey):
    lead, token = personal_link
    at = timezone.now()
    response = response_record(invitation=invitation_for_token(token), score=6, reason="Too pricey", now=at)
    lead.refresh_from_db()
    assert (lead.nps_score, lead.nps_answered_at, lead.nps_group) == (6, at, "detractor")
    event = Event.objects.get(lead=lead, type="nps_response")
    assert event.properties == {"score": 6, "survey": survey.pk}
    assert event.occurred_at == at
    assert event.idempotency_key == f"nps-response-{response.pk}-{at:%Y%m%dT%H%M%S%f}"


@pytest.mark.django_db
def test_older_answer_does_not_replace_a_newer_one_on_the_lead(survey, spec_model):
    lead = LeadFactory()
    now = timezone.now()
    response_record(invitation=invitation_for_token(issue_link(survey, lead, token="new")), score=10, now=now)
    response_record(
        invitation=invitation_for_token(issue_link(survey, lead, token="old")),
        score=2,
        now=now - timedelta(days=5),
    )
    lead.refresh_from_db()
    assert (lead.nps_score, lead.nps_answered_at) == (10, now)


@pytest.mark.django_db
def test_nps_group_filter_finds_answering_leads(personal_link):
    lead, token = personal_link
    LeadFactory(nps_score=3)
    response_record(invitation=invitation_for_token(token), score=9)
    promoters = filtered_leads(parse_filters({"nps_group": "promoter"}))
    assert list(promoters) == [lead]
    assert filtered_leads(parse_filters({"nps_group": "detractor"})).count() == 1


@pytest.mark.django_db
def test_scoring_rule_on_nps_response_scores_the_answer(survey):
    """The event is usable by scoring rules: a version with an nps_response rule scores it."""
    model = {**SPEC_MODEL, "rules": [*SPEC_MODEL["rules"], {"event_type": "nps_response", "points": 15}]}
    version_import(data=model, publish=True)
    lead = LeadFactory()
    response_record(invitation=invitation_for_token(issue_link(survey, lead)), score=10)
    lead.refresh_from_db()
    assert lead.score == pytest.approx(15.0)


@pytest.mark.django_db
def test_database_refuses_a_second_response_for_one_invitation(personal_link, survey):
    lead, token = personal_link
    invitation = invitation_for_token(token)
    Response.objects.create(
        survey=survey,
        invitation=invitation,
        lead=lead,
        score=9,
        channel="personal",
        answered_at=timezone.now(),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(
            survey=survey,
            invitation=invitation,
            lead=lead,
            score=1,
            channel="personal",
            answered_at=timezone.now(),
        )


@pytest.mark.django_db
def test_database_refuses_a_score_outside_0_to_10(survey):
    with pytest.raises(IntegrityError), transaction.atomic():
        Response.objects.create(survey=survey, score=11, channel="public", answered_at=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_same_token_posted_twice_at_once_stores_exactly_one_response(spec_model, survey):
    lead = LeadFactory(name="Two Tabs")
    token = issue_link(survey, lead)
    barrier, outcomes = threading.Barrier(2), []

    def answer(score):
        try:
            # Both tabs loaded the link before either answered: both see it open.
            invitation = invitation_for_token(token)
            barrier.wait(timeout=10)
            response_record(invitation=invitation, score=score)
            outcomes.append("stored")
        except AlreadyAnswered:
            outcomes.append("already answered")
        finally:
            close_old_connections()

    tabs = [threading.Thread(target=answer, args=(score,)) for score in (9, 3)]
    for tab in tabs:
        tab.start()
    for tab in tabs:
        tab.join(timeout=60)
    assert sorted(outcomes) == ["already answered", "stored"]
    assert Response.objects.count() == 1
    assert Event.objects.filter(type="nps_response").count() == 1
    assert Invitation.objects.get().status == Invitation.Status.ANSWERED
    assert Lead.objects.get(pk=lead.pk).nps_score == Response.objects.get().score
