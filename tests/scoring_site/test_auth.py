import pytest

from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/signin/")


def test_sign_in_page_renders_with_csrf(client):
    response = client.get("/signin/")
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content


def test_marketer_signs_in_and_sees_the_summary(client, marketer, spec_model):
    LeadFactory(name="Visible Lead", score=120, stage=4)
    response = client.post("/signin/", {"username": "marketer", "password": "correct horse battery"})
    assert response.status_code == 302
    page = client.get("/")
    assert b"Visible Lead" in page.content and b"Sales-ready (MQL)" in page.content


def test_a_rep_sees_only_their_own_leads(client, rep, spec_model):
    mine = LeadFactory(name="Mine", owner=rep)
    theirs = LeadFactory(name="Theirs")
    client.force_login(rep)
    page = client.get("/")
    assert b"Mine" in page.content and b"Theirs" not in page.content
    assert client.get(f"/leads/{mine.pk}/").status_code == 200
    assert client.get(f"/leads/{theirs.pk}/").status_code == 404


def test_lead_page_contributions_sum_to_the_displayed_score(client, marketer, spec_model):
    from leads.ingest import events
    from leads.ingest.events import NewEvent
    from tests.conftest import day

    lead = LeadFactory()
    for n, kind in enumerate(["form_submit", "form_submit", "form_submit"]):
        events.event_ingest(event=NewEvent(type=kind, occurred_at=day(n), lead_id=lead.pk))
    client.force_login(marketer)
    response = client.get(f"/leads/{lead.pk}/")
    summary = response.context["contributions"]
    lines = summary.recent  # seven lines: all listed, none summed
    assert summary.earlier == []
    assert round(sum(line.delta for line in lines), 6) == round(response.context["score_now"], 6) == 50.0
    # 75 → 67.5 → 60.75 → 54.675 → 50 (the floor): four ticks change the score
    assert [line.kind for line in lines] == ["event"] * 3 + ["decay"] * 4


def test_demo_data_is_repeatable_and_goes_through_ingest(db):
    from leads.demo import load_demo_data
    from leads.models import Event, Lead
    from models_review.services import ensure_default_model

    ensure_default_model()
    first = load_demo_data(leads=60, accounts=10, seed=7)
    second = load_demo_data(leads=60, accounts=10, seed=7)
    # 60 generated with events, plus the trade-show CSV: one visitor per account (10 here, at most 12).
    assert first["leads"] == second["leads"] == 60 + 10
    assert second["events"] == 0 and Event.objects.count() == first["events"]
    assert Lead.objects.filter(score__gt=0).exists()
    assert (
        Lead.objects.exclude(scored_with=None).count()
        == Lead.objects.filter(events__isnull=False).distinct().count()
    )


def test_database_outage_gives_a_plain_503(client, marketer, monkeypatch):
    from django.db import OperationalError

    from leads.workspace import views

    def broken(*args, **kwargs):
        raise OperationalError("could not connect to server: Connection refused")

    monkeypatch.setattr(views.selectors, "stage_counts", broken)
    client.force_login(marketer)
    response = client.get("/")
    assert response.status_code == 503
    assert b"temporarily unavailable" in response.content and b"Traceback" not in response.content
