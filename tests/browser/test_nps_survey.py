import pytest

from surveys.models import Response
from tests.browser.conftest import sign_in
from tests.factories import LeadFactory, SurveyFactory
from tests.surveys.conftest import issue_link

pytestmark = pytest.mark.django_db(transaction=True)


def test_prospect_answers_on_a_phone_and_marketer_sees_it(phone_page, page, marketer, spec_model):
    survey = SurveyFactory(name="Q3 NPS", thank_you_text="Thank you, Ana will read every answer.")
    lead = LeadFactory(name="Beatriz Santos", email="beatriz@cedar.example")
    token = issue_link(survey, lead)

    sign_in(page, "marketer")
    page.goto("/surveys/")
    promoters_before = int(page.locator("#nps-promoters").inner_text())

    phone_page.goto(f"/surveys/r/{token}/")
    assert phone_page.locator(".greeting").inner_text() == "Hi Beatriz,"
    button = phone_page.locator("label[for=score-9]")
    box = button.bounding_box()
    assert box["height"] >= 44 and box["width"] >= 44  # a thumb-sized target
    button.tap()
    assert phone_page.locator("#score-9").is_checked()
    phone_page.fill("#id_reason", "Support answers within the hour <3")
    phone_page.get_by_role("button", name="Send my answer").tap()
    phone_page.wait_for_selector("#thanks")
    assert "Thank you, Ana will read every answer." in phone_page.inner_text("#thanks")
    assert Response.objects.get().score == 9

    page.goto("/surveys/")
    assert int(page.locator("#nps-promoters").inner_text()) == promoters_before + 1
    assert "Support answers within the hour <3" in page.inner_text("#follow-ups")
    page.goto(f"/leads/{lead.pk}/")
    assert page.locator("#lead-nps-score").inner_text() == "9"
    assert "Support answers within the hour <3" in page.inner_text("#lead-nps")


def test_score_buttons_work_from_the_keyboard(phone_page, spec_model):
    survey = SurveyFactory()
    token = issue_link(survey, LeadFactory(name="Kenji Sato"))
    phone_page.goto(f"/surveys/r/{token}/")
    phone_page.focus("#score-0")
    for _ in range(7):
        phone_page.keyboard.press("ArrowRight")
    assert phone_page.locator("#score-7").is_checked()
