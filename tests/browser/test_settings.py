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


def test_admin_creates_a_rep_who_signs_in_then_deactivates_them(page, db):
    from django.contrib.auth import get_user_model

    get_user_model().objects.create_superuser("boss", "boss@example.com", "correct horse battery")
    sign_in(page, "boss")
    page.goto("/leads/settings/")
    page.click("#settings-sections >> text=Users and roles")
    page.fill("#id_username", "newrep")
    page.select_option("#id_role", "rep")
    page.fill("#id_password", "Temporary-Horse-42")
    page.click("text=Create user")
    page.wait_for_selector("text=User newrep created as rep.")
    _shot(page, "settings-users")
    newrep = get_user_model().objects.get(username="newrep")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"tr[data-user='{newrep.pk}'] >> text=Deactivate")
    page.wait_for_selector("text=newrep can no longer sign in.")
    newrep.refresh_from_db()
    assert newrep.is_active is False and newrep.groups.get().name == "Sales reps"


def test_failed_job_is_requeued_from_the_page(page, marketer, rq_redis):
    from rq import SimpleWorker

    from scoring_site.queueing import queue

    failing = queue("low")
    job = failing.enqueue("math.sqrt", -1)
    SimpleWorker([failing], connection=rq_redis).work(burst=True)
    sign_in(page, "marketer")
    page.goto("/leads/settings/failed-jobs/")
    row = page.locator(f"tr[data-job='{job.id}']")
    assert "ValueError: math domain error" in row.inner_text()
    _shot(page, "settings-failed-jobs-real")
    row.locator("text=Requeue").click()
    page.wait_for_selector(f"text=Job {job.id}: requeued.")
    assert job.id in failing.job_ids
