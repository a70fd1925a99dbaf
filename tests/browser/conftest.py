"""Browser tests: Playwright for Python driving Debian's chromium (installed by .ci/run),
against pytest-django's live server. Never downloads a browser."""

import os
import shutil

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between page actions are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# CI must prove the pages work: there a missing browser, or a browser test skipped for any
# reason, fails the run. On a newcomer's machine without Chromium they skip with one line.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
NO_CHROMIUM = f"no Chromium at {CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and item.get_closest_marker("browser"):
        reason = report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome, report.longrepr = "failed", f"CI=true: a browser test may not skip ({reason})"


def chromium_found() -> bool:
    return bool(shutil.which(CHROMIUM)) or os.path.exists(CHROMIUM)


@pytest.fixture(scope="session")
def browser():
    if not chromium_found():
        if IN_CI:
            pytest.fail(f"CI=true and {NO_CHROMIUM}")
        pytest.skip(NO_CHROMIUM)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


@pytest.fixture
def phone_page(browser, live_server):
    context = browser.new_context(
        base_url=live_server.url, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def sign_in(page, username, password="correct horse battery"):
    page.goto("/signin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/")
