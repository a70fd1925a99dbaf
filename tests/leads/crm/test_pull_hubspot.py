"""Closed HubSpot deals become outcomes once, moving sales-owned stages as a rep's outcome does."""

from leads.crm.models import PulledDeal, SyncRun
from leads.crm.services import crm_pull
from leads.models import Lead, Stage, StageChange
from models_review.models import SalesFeedback
from tests.factories import LeadFactory


def test_pull_two_won_and_one_lost_deal_become_outcomes_once_and_move_stages(
    hubspot, fake_hubspot, spec_model
):
    won_a = LeadFactory(email="won-a@example.com", stage=Stage.SALES_READY)
    won_b = LeadFactory(email="won-b@example.com", stage=Stage.OPPORTUNITY)
    lost = LeadFactory(email="lost@example.com", stage=Stage.SALES_READY)
    fake_hubspot.add_deal("d1", "closedwon", [fake_hubspot.add_contact("won-a@example.com")])
    fake_hubspot.add_deal("d2", "closedwon", [fake_hubspot.add_contact("won-b@example.com")])
    fake_hubspot.add_deal("d3", "closedlost", [fake_hubspot.add_contact("lost@example.com")])
    fake_hubspot.add_deal("d4", "appointmentscheduled", [fake_hubspot.add_contact("open@example.com")])

    first = crm_pull(connection=hubspot)
    second = crm_pull(connection=hubspot)

    assert (first.deals, first.outcomes) == (3, 3)
    assert (second.deals, second.outcomes) == (0, 0)
    outcomes = dict(SalesFeedback.objects.values_list("lead__email", "outcome"))
    assert outcomes == {"won-a@example.com": "won", "won-b@example.com": "won", "lost@example.com": "lost"}
    assert Lead.objects.get(pk=won_a.pk).stage == Stage.CUSTOMER
    assert Lead.objects.get(pk=won_b.pk).stage == Stage.CUSTOMER
    assert Lead.objects.get(pk=lost.pk).stage == Stage.SALES_READY
    assert StageChange.objects.filter(to_stage=Stage.CUSTOMER).count() == 2
    assert PulledDeal.objects.count() == 3
    assert SalesFeedback.objects.get(lead=won_a).rep.username == "hubspot-sync"


def test_pull_pages_through_more_than_one_page_of_deals(hubspot, fake_hubspot, spec_model):
    for n in range(130):
        LeadFactory(email=f"c{n}@example.com")
        fake_hubspot.add_deal(f"d{n}", "closedlost", [fake_hubspot.add_contact(f"c{n}@example.com")])

    assert crm_pull(connection=hubspot).outcomes == 130


def test_pull_crm_down_records_a_failed_run_and_no_outcome(hubspot, fake_hubspot, spec_model):
    fake_hubspot.stop()

    result = crm_pull(connection=hubspot)

    assert result.status == SyncRun.Status.FAILED and "could not be reached" in result.errors[0]
    assert SalesFeedback.objects.count() == 0
