"""A marketer runs the Settings area in the browser; a rep has no link and gets 403."""

import pytest
from django.contrib.auth.models import Group

from leads.background.report import SUBSCRIBERS_GROUP
from leads.ingest import credentials
from leads.models import WebhookEndpoint, WriteKey
from tests.browser.conftest import sign_in

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = None  # a folder path keeps screenshots while developing


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def test_marketer_clicks_through_settings(page, marketer, redis_down):
    marketer.email = "marketer@example.com"
    marketer.save()
    sign_in(page, "marketer")
    page.click("nav >> text=Settings")
    _shot(page, "settings-index")
    assert page.locator("nav >> text=Admin").count() == 0
    assert page.locator("#settings-sections >> text=Users and roles").count() == 0

    page.click("#settings-sections >> text=Write keys")
    page.fill("#id_name", "Website")
    page.click("text=Create key")
    secret = page.inner_text("#new-secret code")
    assert credentials.write_key_find(secret) == WriteKey.objects.get(name="Website")
    _shot(page, "settings-write-keys")
    page.reload()  # a GET never shows it again
    assert page.locator("#new-secret").count() == 0 and secret not in page.content()
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#write-keys >> text=Disable")
    page.wait_for_selector("text=disabled: events sent with it are refused")
    assert credentials.write_key_find(secret) is None

    page.click("text=← Settings")
    page.click("#settings-sections >> text=Webhooks")
    page.fill("#id_name", "CRM inbox")
    page.fill("#id_url", "https://crm.example.com/hook")
    page.click("text=Save endpoint")
    made = page.inner_text("#new-secret code")
    assert WebhookEndpoint.objects.get(name="CRM inbox").secret == made
    _shot(page, "settings-webhooks")

    page.click("text=← Settings")
    page.click("#settings-sections >> text=Daily report")
    page.check("text=marketer · marketer@example.com")
    page.click("text=Save subscriptions")
    page.wait_for_selector("text=Daily report: 1 subscribed.")
    assert list(Group.objects.get(name=SUBSCRIBERS_GROUP).user_set.all()) == [marketer]
    _shot(page, "settings-daily-report")

    page.click("text=← Settings")
    page.click("#settings-sections >> text=Failed jobs")
    assert "Redis is unavailable" in page.inner_text("#redis-down")
    _shot(page, "settings-failed-jobs")
    page.click("text=← Settings")
    page.click("#settings-sections >> text=CRM")
    assert page.url.endswith("/leads/crm/")


def test_rep_has_no_settings_link_and_gets_403(page, rep):
    sign_in(page, "rep")
    assert page.locator("nav >> text=Settings").count() == 0
    response = page.goto("/leads/settings/")
    assert response.status == 403
    assert page.goto("/leads/settings/write-keys/").status == 403
