"""The lead list and rep workflow in a real browser: a sort header, select-all and a bulk
action, a rep disqualifying a lead and opening its account."""

import pytest
from django.core.cache import cache

from leads.engine import scoring
from leads.models import Lead, Segment
from tests.browser.conftest import sign_in
from tests.factories import AccountFactory, LeadFactory, MarketerFactory, RepFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def test_lead_list_sort_header_and_bulk_static_list(page, spec_model):
    MarketerFactory(username="mia")
    for name, score in (("Bea", 70), ("Abe", 90), ("Cid", 10)):
        LeadFactory(name=name, score=score)
    sign_in(page, "mia")
    page.goto("/leads/?score_min=50")
    assert page.locator("#lead-table tbody tr td:nth-child(2)").all_inner_texts() == ["Abe", "Bea"]
    page.click("#lead-table thead a:has-text('Score')")
    page.wait_for_url("**sort=score")
    assert page.locator("#lead-table tbody tr td:nth-child(2)").all_inner_texts() == ["Bea", "Abe"]
    page.screenshot(path="/tmp/work/i14c_lead_list.png", full_page=True)
    page.check("#select-all")
    page.select_option("#bulk-form select[name=action]", "list_add")
    page.fill("#bulk-form input[name=name]", "Hot picks")
    page.click("#bulk-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "2 leads chosen: 2 added to the static list “Hot picks”." in page.inner_text("body")
    assert "sort=score" in page.url and "score_min=50" in page.url  # back on the same list
    segment = Segment.objects.get(name="Hot picks")
    assert set(Lead.objects.filter(tags__name="Hot picks").values_list("name", flat=True)) == {"Abe", "Bea"}
    assert segment.filters == {"tag": ["Hot picks"]}


def test_rep_disqualifies_a_lead_and_opens_its_account(page, spec_model):
    rep = RepFactory(username="ray")
    account = AccountFactory(name="Fjord Labs")
    lead = LeadFactory(owner=rep, account=account, name="Ana Silva", stage=scoring.SALES_READY, score=120)
    sign_in(page, "ray")
    page.goto(f"/leads/{lead.pk}/")
    page.fill("#disqualify-form input[name=reason]", "Works for a competitor")
    page.click("#disqualify-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    text = page.inner_text("body")
    assert "Sales-ready (MQL) → Disqualified" in text and "ray: Works for a competitor" in text
    page.screenshot(path="/tmp/work/i14c_disqualified.png", full_page=True)
    page.click("a:has-text('Fjord Labs')")
    page.wait_for_url(f"**/leads/accounts/{account.pk}/")
    assert "Ana Silva" in page.inner_text("#members")
