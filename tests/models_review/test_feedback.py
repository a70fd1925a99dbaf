import pytest
from django.test import Client
from django.urls import reverse

from leads.engine import scoring
from models_review.models import SalesFeedback
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

XSS_NOTE = '<script>alert("x")</script><img src=x onerror="alert(1)">'


def _url(lead):
    return reverse("models_review:lead_feedback", args=[lead.pk])


def test_one_click_verdict_is_stored_for_the_rep_and_the_active_version(client, rep, spec_model):
    lead = LeadFactory(owner=rep, score=120, stage=scoring.SALES_READY)
    client.force_login(rep)
    response = client.post(_url(lead) + "?quick=1", {"really_sales_ready": "yes"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and 'aria-pressed="true"' in response.content.decode()
    feedback = SalesFeedback.objects.get()
    assert (feedback.lead, feedback.rep, feedback.really_sales_ready, feedback.version) == (
        lead,
        rep,
        True,
        spec_model,
    )


def test_a_later_click_keeps_the_earlier_note_and_reason(client, rep, spec_model):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    client.post(
        _url(lead),
        {
            "really_sales_ready": "yes",
            "reason": "good_fit",
            "note": "Asked for pricing",
            "outcome": "",
            "good_actions_note": "",
        },
    )
    client.post(_url(lead) + "?quick=1", {"really_sales_ready": "no"}, HTTP_HX_REQUEST="true")
    feedback = SalesFeedback.objects.get()
    assert (feedback.really_sales_ready, feedback.reason, feedback.note) == (
        False,
        "good_fit",
        "Asked for pricing",
    )


def test_a_note_with_markup_is_stored_verbatim_and_shown_escaped(client, rep, marketer, spec_model):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    client.post(_url(lead), {"note": XSS_NOTE, "good_actions_note": XSS_NOTE})
    assert SalesFeedback.objects.get().note == XSS_NOTE
    for user, url in ((rep, _url(lead)), (marketer, reverse("models_review:feedback"))):
        client.force_login(user)
        html = client.get(url).content.decode()
        assert "<script>alert" not in html and "<img src=x" not in html
        assert (
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
            in html
        )


def test_a_rep_posting_on_another_reps_lead_gets_404(client, rep, spec_model):
    other = RepFactory(username="other-rep")
    lead = LeadFactory(owner=other)
    client.force_login(rep)
    assert client.post(_url(lead), {"really_sales_ready": "yes"}).status_code == 404
    assert client.get(_url(lead)).status_code == 404
    assert not SalesFeedback.objects.exists()


def test_a_rep_edits_only_their_own_feedback(client, rep, marketer, spec_model):
    lead = LeadFactory(owner=rep)
    SalesFeedback.objects.create(lead=lead, rep=marketer, really_sales_ready=False, note="Marketer's view")
    client.force_login(rep)
    client.post(_url(lead), {"really_sales_ready": "yes", "note": "Mine"})
    assert SalesFeedback.objects.get(rep=marketer).note == "Marketer's view"
    assert SalesFeedback.objects.get(rep=rep).note == "Mine"


def test_a_cross_site_post_without_the_csrf_token_is_refused(rep, spec_model):
    lead = LeadFactory(owner=rep)
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep)
    response = client.post(_url(lead), {"really_sales_ready": "yes"}, HTTP_ORIGIN="https://evil.example")
    assert response.status_code == 403
    assert not SalesFeedback.objects.exists()


def test_an_opportunity_outcome_moves_the_lead_to_the_opportunity_stage(client, rep, spec_model):
    lead = LeadFactory(owner=rep, stage=scoring.SALES_READY)
    client.force_login(rep)
    client.post(_url(lead), {"outcome": "opportunity"})
    lead.refresh_from_db()
    assert lead.stage == scoring.OPPORTUNITY
    assert lead.stage_changes.get().reason == "manual"
    client.post(_url(lead), {"outcome": "won"})
    lead.refresh_from_db()
    assert lead.stage == scoring.CUSTOMER
    client.post(_url(lead), {"outcome": "opportunity"})  # a won customer is never moved back
    lead.refresh_from_db()
    assert lead.stage == scoring.CUSTOMER


def test_my_leads_lists_only_the_reps_leads(client, rep, spec_model):
    LeadFactory(owner=rep, name="Mine Lead")
    LeadFactory(owner=RepFactory(username="rep-b"), name="Theirs Lead")
    client.force_login(rep)
    html = client.get(reverse("models_review:my_leads")).content.decode()
    assert "Mine Lead" in html and "Theirs Lead" not in html


def test_marketers_filter_feedback_by_version_rep_and_reason(client, marketer, rep, spec_model):
    other = RepFactory(username="rep-b")
    SalesFeedback.objects.create(
        lead=LeadFactory(name="Student Lead"), rep=rep, reason="student", version=spec_model
    )
    SalesFeedback.objects.create(
        lead=LeadFactory(name="Budget Lead"), rep=other, reason="no_budget", version=spec_model
    )
    SalesFeedback.objects.create(lead=LeadFactory(name="Old Lead"), rep=rep, reason="student")
    client.force_login(marketer)
    url = reverse("models_review:feedback")
    assert _names(client.get(url, {"reason": "student"})) == {"Student Lead", "Old Lead"}
    assert _names(client.get(url, {"rep": other.pk})) == {"Budget Lead"}
    assert _names(client.get(url, {"version": spec_model.pk, "reason": "student"})) == {"Student Lead"}
    client.force_login(rep)
    assert client.get(url).status_code == 403


def _names(response):
    return {f.lead.name for f in response.context["page"].object_list}


def test_an_unknown_reason_is_refused_naming_the_field_and_nothing_is_stored(client, rep, spec_model):
    lead = LeadFactory(owner=rep)
    client.force_login(rep)
    response = client.post(_url(lead), {"reason": "hates-us", "note": "keep me"})
    html = response.content.decode()
    assert response.status_code == 400 and "reason: Select a valid choice" in html
    assert "keep me</textarea>" in html  # what the rep typed is still there
    assert not SalesFeedback.objects.exists()
