import pytest

from tests.browser.conftest import sign_in
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_marketer_signs_in_and_sees_stage_counts_and_top_leads(page, marketer, spec_model):
    LeadFactory(name="Ada <b>Bold</b>", score=120, stage=4)
    sign_in(page, "marketer")
    assert page.locator(".stage-tile.stage-4 .count").inner_text() == "1"
    # Names from the public are shown as text, never as markup.
    assert page.get_by_text("Ada <b>Bold</b>").count() == 1
    page.click("text=Sign out")
    page.wait_for_url("**/signin/")
