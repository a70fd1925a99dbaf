"""The marketer workspace in a real browser: charts drawn, htmx list, contributions, segments, reps."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from leads.ingest.events import NewEvent, events_ingest
from leads.models import StageChange, StageSnapshot
from tests.browser.conftest import sign_in
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db(transaction=True)

# Pixels a canvas has painted (alpha > 0); a blank canvas has none.
PAINTED_PIXELS = """canvas => {
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 3; i < data.length; i += 4) { if (data[i] > 0) painted++; }
  return painted;
}"""


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


@pytest.fixture
def stage_history(spec_model):
    today = timezone.now().date()
    for offset in range(7):
        for stage, count in ((1, 10 + offset), (2, 6), (3, 3), (4, 1 + offset // 2)):
            StageSnapshot.objects.create(day=today - timedelta(days=offset), stage=stage, count=count)
    leads = [
        LeadFactory(score=score, stage=stage)
        for score, stage in ((10, 1), (40, 2), (45, 2), (70, 3), (120, 4))
    ]
    now = timezone.now()
    StageChange.objects.create(
        lead=leads[4], from_stage=1, to_stage=2, at=now - timedelta(days=9), reason="event"
    )
    StageChange.objects.create(
        lead=leads[4], from_stage=2, to_stage=3, at=now - timedelta(days=6), reason="event"
    )
    StageChange.objects.create(
        lead=leads[4], from_stage=3, to_stage=4, at=now - timedelta(days=2), reason="event"
    )
    return leads


def test_stage_dashboard_draws_every_chart_with_data(page, marketer, stage_history):
    sign_in(page, "marketer")
    page.goto("/leads/dashboard/")
    canvases = page.locator("canvas[data-chart-url]")
    assert canvases.count() == 3
    for index in range(3):
        canvas = canvases.nth(index)
        page.wait_for_function("c => c.dataset.chartState === 'drawn'", arg=canvas.element_handle())
        assert canvas.evaluate(PAINTED_PIXELS) > 500, canvas.get_attribute("id")
    assert page.locator("#stage-now .stage-4 .count").inner_text() == "1"
    assert page.locator("#velocity tr[data-stage='3'] .conversion").inner_text() == "100 %"


def test_lead_list_filters_in_place_without_a_page_load(page, marketer, spec_model):
    LeadFactory(name="Stage One Sam", score=10, stage=1)
    LeadFactory(name="Ready Rita", score=130, stage=4)
    sign_in(page, "marketer")
    page.goto("/leads/")
    assert page.locator("#lead-table").get_by_text("Stage One Sam").count() == 1
    page.evaluate("window.__sameDocument = true")
    page.select_option("select[name=stage]", "4")
    page.wait_for_function("() => !document.querySelector('#lead-table').innerText.includes('Stage One Sam')")
    assert page.evaluate("window.__sameDocument") is True  # no navigation happened
    assert "stage=4" in page.url  # and the address bar can be bookmarked
    assert page.locator("#lead-count").inner_text().startswith("1 lead")
    response = page.goto("/leads/?sort=score;DROP")
    assert response.status == 400 and "sort: must be one of" in page.locator("#filter-error").inner_text()


def test_lead_page_contributions_sum_to_the_displayed_score(page, marketer, spec_model):
    lead = LeadFactory(name="Contributing Carla")
    start = timezone.now() - timedelta(days=80)
    events_ingest(
        events=[
            NewEvent(type="form_submit", occurred_at=start, lead_id=lead.pk),
            NewEvent(
                type="custom", name="Trial Started", occurred_at=start + timedelta(hours=1), lead_id=lead.pk
            ),
            NewEvent(
                type="video_play",
                occurred_at=start + timedelta(days=1),
                lead_id=lead.pk,
                properties={"percent": 100},
            ),
        ]
    )
    sign_in(page, "marketer")
    page.goto(f"/leads/{lead.pk}/")
    deltas = [float(text) for text in page.locator("#contributions tbody td.delta").all_inner_texts()]
    shown = float(page.locator("#score-now").inner_text())
    assert len(deltas) > 3  # three events and, 80 days on, decay ticks
    assert any(delta < 0 for delta in deltas)
    assert sum(deltas) == pytest.approx(shown, abs=0.01 * len(deltas))
    assert shown == pytest.approx(float(page.locator("#contribution-total").inner_text()), abs=0.01)
    page.wait_for_function("() => document.querySelector('#chart-lead').dataset.chartState === 'drawn'")


def test_save_a_segment_and_download_its_csv(page, marketer, spec_model):
    LeadFactory(name="Hot Hannah", email="hannah@example.com", score=95, stage=3)
    LeadFactory(name="=Evil()", email="evil@example.com", score=80, stage=3)
    LeadFactory(name="Cold Carl", email="carl@example.com", score=5, stage=1)
    sign_in(page, "marketer")
    page.goto("/leads/")
    page.select_option("select[name=stage]", "3")
    page.wait_for_function("() => !document.querySelector('#lead-table').innerText.includes('Cold Carl')")
    page.fill("#save-segment input[name=name]", "Stage three")
    page.click("#save-segment button[type=submit]")
    page.wait_for_url("**/leads/segments/*/")
    assert "Segment “Stage three” saved." in page.locator(".messages").inner_text()
    with page.expect_download() as download_info:
        page.click("#export-csv")
    with open(download_info.value.path(), encoding="utf-8") as download:
        lines = download.read().splitlines()
    assert lines[0].startswith("email,name,")
    assert [line.split(",")[0] for line in lines[1:]] == ["hannah@example.com", "evil@example.com"]
    assert lines[2].split(",")[1] == "'=Evil()"


def test_rep_sees_only_their_leads(page, rep, spec_model):
    LeadFactory(name="Rep's Own Lead", owner=rep, score=50)
    other = LeadFactory(name="Someone Else's Lead", owner=RepFactory(), score=99)
    sign_in(page, "rep")
    page.goto("/leads/")
    table = page.locator("#lead-table").inner_text()
    assert "Rep's Own Lead" in table and "Someone Else's Lead" not in table
    assert page.goto(f"/leads/{other.pk}/").status == 404
    assert page.goto("/leads/dashboard/").status == 403
    assert page.locator("nav").get_by_text("Dashboard").count() == 0
