"""The rep workflow on the lead and account pages: disqualify with a reason, account pages of
the accounts where the rep owns a lead."""

import pytest

from leads.engine import scoring
from leads.models import Lead, StageChange
from leads.services import LeadActionError, lead_disqualify
from tests.factories import AccountFactory, LeadFactory, RepFactory

pytestmark = pytest.mark.django_db


def test_lead_disqualify_logs_a_manual_stage_change_with_the_reason(rep, spec_model):
    lead = LeadFactory(owner=rep, score=120, stage=scoring.SALES_READY)
    lead_disqualify(lead=lead, reason="  Student,   not a buyer ", by=rep)
    lead.refresh_from_db()
    change = StageChange.objects.get(lead=lead)
    assert lead.stage == scoring.DISQUALIFIED
    assert (change.from_stage, change.to_stage, change.reason) == (
        scoring.SALES_READY,
        scoring.DISQUALIFIED,
        StageChange.Reason.MANUAL,
    )
    assert change.note == "rep: Student, not a buyer"


@pytest.mark.parametrize(
    "reason, field",
    [("", "reason"), ("   ", "reason"), ("x" * 201, "reason")],
    ids=["empty", "blank", "long"],
)
def test_lead_disqualify_refuses_a_bad_reason_naming_the_field(rep, spec_model, reason, field):
    lead = LeadFactory(owner=rep, stage=scoring.SALES_READY)
    with pytest.raises(LeadActionError) as error:
        lead_disqualify(lead=lead, reason=reason, by=rep)
    assert error.value.field == field
    assert Lead.objects.get(pk=lead.pk).stage == scoring.SALES_READY and not StageChange.objects.exists()


def test_lead_disqualify_twice_is_refused_and_logs_once(rep, spec_model):
    lead = LeadFactory(owner=rep, stage=scoring.SALES_READY)
    lead_disqualify(lead=lead, reason="competitor", by=rep)
    lead.refresh_from_db()
    with pytest.raises(LeadActionError) as error:
        lead_disqualify(lead=lead, reason="again", by=rep)
    assert error.value.field == "stage" and StageChange.objects.count() == 1


def test_disqualify_view_for_the_owning_rep_shows_the_reason_in_the_stage_history(client, rep, spec_model):
    lead = LeadFactory(owner=rep, stage=scoring.SALES_READY)
    client.force_login(rep)
    assert 'id="disqualify-form"' in client.get(f"/leads/{lead.pk}/").content.decode()
    response = client.post(f"/leads/{lead.pk}/disqualify/", {"reason": "No budget this year"}, follow=True)
    page = response.content.decode()
    assert response.status_code == 200
    assert "Sales-ready (MQL) → Disqualified" in page and "rep: No budget this year" in page
    assert 'id="disqualify-form"' not in page  # nothing left to disqualify


def test_disqualify_view_refuses_another_reps_lead_and_an_empty_reason(client, rep, marketer, spec_model):
    theirs = LeadFactory(owner=RepFactory(), stage=scoring.SALES_READY)
    mine = LeadFactory(owner=rep, stage=scoring.SALES_READY)
    client.force_login(rep)
    assert client.post(f"/leads/{theirs.pk}/disqualify/", {"reason": "spam"}).status_code == 404
    page = client.post(f"/leads/{mine.pk}/disqualify/", {"reason": ""}, follow=True).content.decode()
    assert "Lead not disqualified — reason: Say why the lead is disqualified." in page
    assert Lead.objects.filter(stage=scoring.DISQUALIFIED).count() == 0
    # A marketer may disqualify any lead.
    client.force_login(marketer)
    client.post(f"/leads/{theirs.pk}/disqualify/", {"reason": "Job seeker"})
    assert Lead.objects.get(pk=theirs.pk).stage == scoring.DISQUALIFIED


def test_disqualify_view_needs_a_post_with_csrf(rep, spec_model):
    from django.test import Client

    lead = LeadFactory(owner=rep, stage=scoring.SALES_READY)
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    assert client.post(f"/leads/{lead.pk}/disqualify/", {"reason": "x"}).status_code == 403
    assert client.get(f"/leads/{lead.pk}/disqualify/").status_code == 405
    assert Lead.objects.get(pk=lead.pk).stage == scoring.SALES_READY


def test_account_pages_for_a_rep_show_only_accounts_where_they_own_a_lead(client, rep, spec_model):
    mine = AccountFactory(name="Mine Corp")
    other = AccountFactory(name="Other Corp")
    LeadFactory(owner=rep, account=mine, name="My Contact")
    LeadFactory(owner=RepFactory(), account=mine, name="Colleague Contact")
    LeadFactory(owner=RepFactory(), account=other)
    client.force_login(rep)
    listing = client.get("/leads/accounts/").content.decode()
    assert "Mine Corp" in listing and "Other Corp" not in listing
    page = client.get(f"/leads/accounts/{mine.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    # The rep sees the whole buying group, but links only to the lead they can open.
    assert "Colleague Contact" in body and body.count('href="/leads/') >= 1
    assert f'href="/leads/{Lead.objects.get(name="Colleague Contact").pk}/"' not in body
    assert f'href="/leads/{Lead.objects.get(name="My Contact").pk}/"' in body
    assert client.get(f"/leads/accounts/{other.pk}/").status_code == 404
    assert client.get(f"/leads/accounts/{other.pk}/chart.json").status_code == 404
