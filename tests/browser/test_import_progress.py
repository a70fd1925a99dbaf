"""A 10,000-row CSV: checked and imported by a real RQ worker while the page's bar moves."""

import os
from datetime import timedelta

import pytest

from leads.models import Event
from tests.browser.conftest import sign_in
from tests.conftest import day
from tests.redis_fixtures import run_worker

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = os.environ.get("LEADSCORE_SCREENSHOTS")

# Each new bar htmx swaps in is noted in sessionStorage, which outlives the reload at the end.
WATCH_BAR = """() => {
  sessionStorage.setItem('seenPercents', '[]');
  new MutationObserver(() => {
    const bar = document.querySelector('#import-progress');
    if (!bar) return;
    const seen = JSON.parse(sessionStorage.getItem('seenPercents'));
    seen.push(Number(bar.dataset.percent));
    sessionStorage.setItem('seenPercents', JSON.stringify(seen));
  }).observe(document.body, {childList: true, subtree: true});
}"""


def shot(page, name):
    if SCREENSHOTS:
        page.screenshot(path=os.path.join(SCREENSHOTS, name), full_page=True)


def test_marketer_imports_10000_rows_and_watches_the_bar_move_to_the_end(
    page, marketer, spec_model, rq_redis, tmp_path
):
    lines = ["email,type,timestamp"]
    for index in range(10_000):
        lines.append(
            f"lead{index % 500}@example.com,form_submit,{(day(0) + timedelta(minutes=index)).isoformat()}"
        )
    lines[5001] = "not-an-email,form_submit,2026-01-01T09:00:00Z"  # data row 5000 is line 5002
    path = tmp_path / "events.csv"
    path.write_text("\n".join(lines) + "\n")

    sign_in(page, "marketer")
    page.goto("/leads/imports/")
    page.select_option("#id_kind", "events")
    page.set_input_files("#id_file", str(path))
    page.click("text=Check file")
    page.wait_for_selector("#import-progress[data-status='checking']", state="attached")
    shot(page, "import_checking.png")
    run_worker(rq_redis, "default")
    # The poll sees the check finished and reloads the page with the preview and error report.
    page.wait_for_selector("#valid-rows", timeout=20_000)
    assert page.locator("#valid-rows").inner_text() == "9,999"
    assert page.locator("#errors tbody tr").first.inner_text().split("\t")[:2] == ["5002", "email"]

    page.click("#import-button")
    page.wait_for_selector("#import-progress[data-status='importing']", state="attached")
    page.evaluate(WATCH_BAR)
    shot(page, "import_importing.png")
    run_worker(rq_redis, "default")
    page.wait_for_selector("#imported-rows", timeout=30_000)
    assert page.locator("#imported-rows").inner_text() == "9,999"
    assert page.locator("#error-rows").inner_text() == "1"
    assert Event.objects.count() == 9_999
    seen = page.evaluate("JSON.parse(sessionStorage.getItem('seenPercents'))")
    assert any(0 < percent < 100 for percent in seen), seen  # the bar moved while the worker ran
    shot(page, "import_done.png")
