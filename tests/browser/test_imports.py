import os

import pytest

from leads.models import Event
from tests.browser.conftest import sign_in
from tests.leads.test_imports import events_csv

pytestmark = pytest.mark.django_db(transaction=True)
SCREENSHOTS = os.environ.get("LEADSCORE_SCREENSHOTS")


def test_marketer_previews_a_csv_sees_errors_by_line_and_imports_the_valid_rows(
    page, marketer, spec_model, tmp_path
):
    path = tmp_path / "events.csv"
    path.write_bytes(events_csv())
    sign_in(page, "marketer")
    page.click("nav >> text=Import")
    page.select_option("#id_kind", "events")
    page.set_input_files("#id_file", str(path))
    page.click("text=Check file")
    assert page.locator("#valid-rows").inner_text() == "993"
    assert page.locator("#error-rows").inner_text() == "7"
    assert page.locator("#errors tbody tr").nth(4).inner_text().split("\t")[:2] == ["803", "points"]
    assert page.locator("#preview tbody tr").count() == 10
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/import_preview.png", full_page=True)
    page.click("#import-button")
    assert page.locator("#imported-rows").inner_text() == "993"
    assert "993 rows imported" in page.locator(".messages").inner_text()
    assert Event.objects.count() == 993
    if SCREENSHOTS:
        page.screenshot(path=f"{SCREENSHOTS}/import_done.png", full_page=True)
        page.goto("/leads/imports/")
        page.screenshot(path=f"{SCREENSHOTS}/imports.png", full_page=True)
