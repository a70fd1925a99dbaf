from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from leads.models import Event
from surveys.models import Invitation, Response, SubmissionLog
from surveys.services import SUBMISSIONS_PER_MINUTE
from tests.factories import LeadFactory
from tests.surveys.conftest import issue_link

pytestmark = pytest.mark.django_db


def url(token):
    return reverse("surveys:respond", args=[token])


def test_respond_form_greets_by_first_name_and_shows_nothing_else_of_the_lead(client, personal_link, survey):
    lead, token = personal_link
    lead.title, lead.score, lead.nps_score = "CFO", 87.5, 3
    lead.save()
    LeadFactory(name="Other Person", email="other@rival.example")
    page = client.get(url(token)).content.decode()
    assert "Hi Ana," in page
    assert survey.question in page
    for private in (
        "Silva",
        "ana@nordic.example",
        "CFO",
        "87.5",
        "Other Person",
        "other@rival.example",
        "rival",
    ):
        assert private not in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert page.count('type="radio" name="score"') == 11


def test_respond_stores_answer_and_redirects_to_thank_you(client, personal_link, survey):
    lead, token = personal_link
    response = client.post(url(token), {"score": "9", "reason": "Fast support"})
    assert response.status_code == 302
    assert response["Location"] == reverse("surveys:respond_thanks", args=[token])
    thanks = client.get(response["Location"]).content.decode()
    assert "Thanks a lot, it helps us improve." in thanks
    answer = Response.objects.get()
    assert (answer.score, answer.reason, answer.lead_id, answer.channel) == (
        9,
        "Fast support",
        lead.pk,
        "personal",
    )
    assert Invitation.objects.get().status == Invitation.Status.ANSWERED


@pytest.mark.parametrize("score", ["11", "-1", "7.5", ""])
def test_respond_bad_score_shows_form_again_with_message_and_stores_nothing(client, personal_link, score):
    _, token = personal_link
    response = client.post(url(token), {"score": score, "reason": "keep me"})
    assert response.status_code == 400
    page = response.content.decode()
    assert 'role="alert"' in page and "0 to 10" in page
    assert "keep me" in page  # the reason typed is not lost
    assert Response.objects.count() == 0
    assert not Event.objects.filter(type="nps_response").exists()
    assert Invitation.objects.get().status == Invitation.Status.SENT


def test_respond_missing_score_field_is_refused(client, personal_link):
    _, token = personal_link
    assert client.post(url(token), {"reason": "no score"}).status_code == 400
    assert Response.objects.count() == 0


def test_respond_refuses_missing_or_foreign_csrf_token(personal_link):
    _, token = personal_link
    browser = Client(enforce_csrf_checks=True)
    assert browser.post(url(token), {"score": "9"}).status_code == 403
    browser.get(url(token))  # receives its own CSRF cookie
    forged = browser.post(url(token), {"score": "9", "csrfmiddlewaretoken": "x" * 64})
    assert forged.status_code == 403
    assert "nothing was saved" in forged.content.decode()
    assert Response.objects.count() == 0


def test_respond_accepts_its_own_csrf_token(personal_link):
    _, token = personal_link
    browser = Client(enforce_csrf_checks=True)
    browser.get(url(token))
    response = browser.post(
        url(token), {"score": "9", "csrfmiddlewaretoken": browser.cookies["csrftoken"].value}
    )
    assert response.status_code == 302
    assert Response.objects.count() == 1


def test_respond_honeypot_filled_is_refused_without_storing(client, personal_link):
    _, token = personal_link
    response = client.post(url(token), {"score": "10", "website": "http://spam.example"})
    assert response.status_code == 400
    assert Response.objects.count() == 0


def test_public_form_rate_limit_refuses_the_21st_post_in_a_minute(client, survey):
    public = reverse("surveys:public", args=[survey.public_token])
    statuses = [
        client.post(public, {"score": "8"}, REMOTE_ADDR="203.0.113.7").status_code
        for _ in range(SUBMISSIONS_PER_MINUTE + 1)
    ]
    assert statuses[:SUBMISSIONS_PER_MINUTE] == [302] * SUBMISSIONS_PER_MINUTE
    assert statuses[-1] == 429
    assert Response.objects.count() == SUBMISSIONS_PER_MINUTE
    # Another address is not affected.
    assert client.post(public, {"score": "8"}, REMOTE_ADDR="198.51.100.1").status_code == 302


def test_rate_limit_counts_in_the_database_not_in_process_memory(client, survey):
    """Another web worker process sees the same counter: the attempts are rows."""
    public = reverse("surveys:public", args=[survey.public_token])
    client.post(public, {"score": "8"}, REMOTE_ADDR="203.0.113.9")
    client.post(public, {"score": "8"}, REMOTE_ADDR="203.0.113.9")
    log = SubmissionLog.objects.get()
    assert len(log.recent) == 2
    assert "203.0.113.9" not in log.address_hash  # a keyed hash, not the address


def test_rate_limit_window_forgets_after_a_minute(survey):
    from django.utils import timezone

    from surveys.services import submission_allowed

    start = timezone.now()
    assert all(submission_allowed(address="192.0.2.1", now=start) for _ in range(SUBMISSIONS_PER_MINUTE))
    assert not submission_allowed(address="192.0.2.1", now=start + timedelta(seconds=30))
    assert submission_allowed(address="192.0.2.1", now=start + timedelta(seconds=91))


def test_respond_twice_shows_already_answered_and_keeps_first(client, personal_link):
    lead, token = personal_link
    client.post(url(token), {"score": "9"})
    again = client.post(url(token), {"score": "2"})
    assert again.status_code == 200
    assert "already answered" in again.content.decode()
    assert list(Response.objects.values_list("score", flat=True)) == [9]
    lead.refresh_from_db()
    assert lead.nps_score == 9
    assert "already answered" in client.get(url(token)).content.decode()


def test_unknown_token_gives_a_clear_page(client, survey):
    response = client.get(url("no-such-token"))
    assert response.status_code == 404
    assert "could not find this survey" in response.content.decode()


def test_expired_token_gives_a_clear_page_and_refuses_answers(client, survey, spec_model):
    token = issue_link(survey, LeadFactory(), expires_in=timedelta(seconds=-1))
    assert "has expired" in client.get(url(token)).content.decode()
    response = client.post(url(token), {"score": "9"})
    assert response.status_code == 410
    assert Response.objects.count() == 0


def test_public_link_answer_is_anonymous(client, survey):
    response = client.post(
        reverse("surveys:public", args=[survey.public_token]), {"score": "6", "reason": "Slow"}
    )
    assert response.status_code == 302
    answer = Response.objects.get()
    assert (answer.lead, answer.channel, answer.score) == (None, "public", 6)


def test_public_link_switched_off_is_a_clear_page(client, survey):
    survey.public_link_enabled = False
    survey.save()
    response = client.get(reverse("surveys:public", args=[survey.public_token]))
    assert response.status_code == 404
    assert "could not find this survey" in response.content.decode()


def test_public_pages_are_not_cached(client, personal_link):
    _, token = personal_link
    assert "no-cache" in client.get(url(token))["Cache-Control"]


def test_public_pages_speak_the_survey_language(client, personal_link, survey):
    survey.language = "da"
    survey.save()
    _, token = personal_link
    page = client.get(url(token)).content.decode()
    assert '<html lang="da">' in page
    assert "Hej Ana," in page and "Send mit svar" in page


def test_thanks_page_of_a_survey_whose_public_link_is_off_is_404(client, survey):
    assert client.get(reverse("surveys:thanks", args=[survey.public_token])).status_code == 200
    survey.public_link_enabled = False
    survey.save()
    assert client.get(reverse("surveys:thanks", args=[survey.public_token])).status_code == 404


def test_personal_link_thanks_works_without_a_public_link_and_only_once_answered(
    client, personal_link, survey
):
    lead, token = personal_link
    survey.public_link_enabled = False
    survey.save()
    assert client.get(reverse("surveys:respond_thanks", args=[token])).status_code == 404  # not answered yet
    response = client.post(url(token), {"score": "9"})
    assert client.get(response["Location"]).status_code == 200
