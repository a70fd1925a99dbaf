"""Every main page loads in a real browser without a script error or a Content-Security-
Policy violation (a blocked script silently breaks htmx behaviours and charts)."""

import pytest

from leads.ingest import events
from leads.ingest.events import NewEvent
from tests.browser.conftest import sign_in
from tests.conftest import day
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = (
    "/",
    "/leads/dashboard/",
    "/leads/",
    "/leads/accounts/",
    "/leads/segments/",
    "/leads/tally/",
    "/leads/status/",
    "/leads/imports/",
    "/model/",
    "/model/sheet/",
    "/model/feedback/",
    "/model/reviews/",
    "/surveys/",
)


def test_main_pages_load_without_script_errors_or_policy_violations(page, marketer, spec_model):
    lead = LeadFactory(name="Policy Lead", account=AccountFactory())
    events.event_ingest(event=NewEvent(type="form_submit", occurred_at=day(0), lead_id=lead.pk))
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    sign_in(page, "marketer")
    for path in PAGES + (f"/leads/{lead.pk}/", f"/leads/accounts/{lead.account_id}/"):
        response = page.goto(path)
        assert response.status == 200, path
        page.wait_for_load_state("networkidle")
    assert problems == []
