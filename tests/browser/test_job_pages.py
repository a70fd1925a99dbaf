import os

import pytest
from django.utils import timezone

from leads.models import JobRun
from models_review.models import RecalculationRun
from tests.browser.conftest import sign_in
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = os.environ.get("LEADSCORE_SCREENSHOTS")


def shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


def test_recalculation_bar_moves_live_without_a_reload(page, marketer, spec_model):
    LeadFactory.create_batch(3)
    run = RecalculationRun.objects.create(
        version=spec_model, requested_by=marketer, total=2000, status="running", started_at=timezone.now()
    )
    sign_in(page, "marketer")
    page.goto(f"/model/recalculations/{run.pk}/")
    bar = page.locator("#recalc-progress")
    assert bar.get_attribute("data-percent") == "0"
    RecalculationRun.objects.filter(pk=run.pk).update(done=1500, last_lead_id=1500)
    page.wait_for_selector('#recalc-progress[data-percent="75"]', timeout=10_000)
    assert "1,500 of 2,000 leads" in page.inner_text("#recalc-panel")
    shot(page, "recalculation.png")
    RecalculationRun.objects.filter(pk=run.pk).update(done=2000, status="done", finished_at=timezone.now())
    page.wait_for_selector('#recalc-progress[data-percent="100"]', timeout=10_000)
    assert "Done: 2,000 leads recalculated" in page.inner_text("#recalc-panel")


def test_status_page_shows_jobs_and_the_failed_jobs_link(page, marketer, spec_model, rq_redis):
    JobRun.objects.create(
        name="decay",
        status="ok",
        started_at=timezone.now(),
        finished_at=timezone.now(),
        result="1,204 leads decayed, 310 product scores, 12 stages moved back",
    )
    JobRun.objects.create(
        name="daily report",
        status="failed",
        started_at=timezone.now(),
        error="SMTPServerDisconnected: Connection unexpectedly closed",
    )
    sign_in(page, "marketer")
    page.click("nav >> text=Jobs")
    page.wait_for_url("**/leads/status/")
    from scoring_site.schedule import PERIODIC

    assert page.locator("table.jobs tbody tr").count() == len(PERIODIC) == 15  # one row per scheduled job
    assert page.locator("a[href='/leads/settings/failed-jobs/']", has_text="Failed jobs").count() == 1
    shot(page, "status.png")
