from datetime import timedelta

import pytest
from django.utils import timezone

from surveys.models import Invitation
from surveys.services import token_hash
from tests.factories import LeadFactory, SurveyFactory


@pytest.fixture
def survey(db):
    return SurveyFactory(
        name="Q3 NPS",
        follow_up_question="What is the main reason for your score?",
        thank_you_text="Thanks a lot, it helps us improve.",
    )


def issue_link(survey, lead, *, token="tok-" + "a" * 40, expires_in=timedelta(days=30)):
    """A sent invitation whose raw token the test knows (delivery would only email it)."""
    now = timezone.now()
    Invitation.objects.create(
        survey=survey,
        lead=lead,
        token_hash=token_hash(token),
        status=Invitation.Status.SENT,
        created_at=now,
        sent_at=now,
        expires_at=now + expires_in,
    )
    return token


@pytest.fixture
def personal_link(survey, spec_model):
    lead = LeadFactory(name="Ana Silva", email="ana@nordic.example")
    return lead, issue_link(survey, lead)
