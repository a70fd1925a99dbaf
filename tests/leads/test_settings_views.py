"""The Settings area: each section for marketers (admins for users), CSRF-protected forms,
secrets shown once, reps refused."""

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from leads.background.report import SUBSCRIBERS_GROUP
from leads.ingest import credentials
from leads.models import WebhookDelivery, WebhookEndpoint, WriteKey
from leads.roles import MARKETERS, SALES_REPS
from tests.factories import MarketerFactory, RepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_user(db):
    return get_user_model().objects.create_superuser("boss", "boss@example.com", "pw-not-used-1")


def _page(client, name, *args):
    return client.get(reverse(name, args=args)).content.decode()


def test_settings_index_lists_sections_by_role(client, marketer, admin_user):
    client.force_login(marketer)
    html = _page(client, "leads:settings")
    for title in ("Write keys", "Webhooks", "Daily report", "Failed jobs", "CRM"):
        assert f">{title}</a>" in html
    assert "Users and roles" not in html
    client.force_login(admin_user)
    assert ">Users and roles</a>" in _page(client, "leads:settings")


@pytest.mark.parametrize(
    "name, args",
    [
        ("leads:settings", ()),
        ("leads:settings_write_keys", ()),
        ("leads:settings_webhooks", ()),
        ("leads:settings_subscriptions", ()),
        ("leads:settings_failed_jobs", ()),
        ("leads:settings_users", ()),
    ],
)
def test_settings_pages_refuse_reps(client, rep, name, args):
    client.force_login(rep)
    assert client.get(reverse(name, args=args)).status_code == 403


def test_settings_users_refuses_marketers(client, marketer):
    client.force_login(marketer)
    assert client.get(reverse("leads:settings_users")).status_code == 403
    assert client.post(reverse("leads:settings_users"), {"username": "x"}).status_code == 403


def test_settings_navigation_link_for_marketers_only(client, marketer, rep):
    client.force_login(marketer)
    assert f'href="{reverse("leads:settings")}"' in _page(client, "leads:list")
    client.force_login(rep)
    assert f'href="{reverse("leads:settings")}"' not in _page(client, "leads:list")


def test_write_key_is_shown_once_and_then_only_its_prefix(client, marketer):
    client.force_login(marketer)
    html = client.post(reverse("leads:settings_write_keys"), {"name": "Website"}).content.decode()
    key = WriteKey.objects.get(name="Website")
    secret = html.split("<code>wk_", 1)[1].split("</code>", 1)[0]
    assert credentials.write_key_find("wk_" + secret) == key
    assert ("wk_" + secret) not in _page(client, "leads:settings_write_keys")
    assert key.key_prefix in _page(client, "leads:settings_write_keys")


def test_write_key_duplicate_name_is_refused_naming_the_field(client, marketer):
    credentials.write_key_create(name="Website")
    client.force_login(marketer)
    response = client.post(reverse("leads:settings_write_keys"), {"name": "website"})
    assert response.status_code == 400
    assert "name: a write key named “website” exists already" in response.content.decode()
    assert WriteKey.objects.count() == 1


def test_write_key_disable_refuses_its_events(client, marketer):
    key, secret = credentials.write_key_create(name="App")
    client.force_login(marketer)
    client.post(reverse("leads:settings_write_key_disable", args=[key.pk]))
    assert credentials.write_key_find(secret) is None
    assert "disabled" in _page(client, "leads:settings_write_keys")


def test_write_key_last_use_is_listed(client, marketer):
    key, secret = credentials.write_key_create(name="App")
    credentials.write_key_find(secret)
    key.refresh_from_db()
    client.force_login(marketer)
    assert key.last_used_at.strftime("%-d %b %Y") in _page(client, "leads:settings_write_keys")


def test_settings_forms_need_csrf(marketer):
    client = Client(enforce_csrf_checks=True)
    client.force_login(marketer)
    assert client.post(reverse("leads:settings_write_keys"), {"name": "Website"}).status_code == 403
    assert not WriteKey.objects.exists()


def test_webhook_create_shows_a_made_secret_once_then_edit_keeps_it(client, marketer):
    client.force_login(marketer)
    html = client.post(
        reverse("leads:settings_webhooks"),
        {"name": "CRM", "url": "https://crm.example.com/hook", "secret": ""},
    ).content.decode()
    endpoint = WebhookEndpoint.objects.get(name="CRM")
    assert endpoint.secret.startswith("whsec_") and endpoint.secret in html
    response = client.post(
        reverse("leads:settings_webhook", args=[endpoint.pk]),
        {"name": "CRM inbox", "url": "https://crm.example.com/v2", "secret": ""},
    )
    assert response.status_code == 302
    old_secret = endpoint.secret
    endpoint.refresh_from_db()
    assert (endpoint.name, endpoint.url, endpoint.secret) == (
        "CRM inbox",
        "https://crm.example.com/v2",
        old_secret,
    )
    assert old_secret not in _page(client, "leads:settings_webhook", endpoint.pk)


def test_webhook_bad_url_is_refused_naming_the_field_and_keeps_the_input(client, marketer):
    client.force_login(marketer)
    response = client.post(reverse("leads:settings_webhooks"), {"name": "CRM", "url": "not a url"})
    html = response.content.decode()
    assert response.status_code == 400 and "url: Enter a valid URL." in html and 'value="CRM"' in html
    assert not WebhookEndpoint.objects.exists()


def test_webhook_toggle_and_recent_deliveries(client, marketer):
    endpoint = WebhookEndpoint.objects.create(name="CRM", url="https://crm.example.com/", secret="s")
    WebhookDelivery.objects.create(
        endpoint=endpoint, payload={"lead": {"email": "ann@example.com"}}, attempts=2, last_status_code=503
    )
    client.force_login(marketer)
    html = _page(client, "leads:settings_webhook", endpoint.pk)
    assert "ann@example.com" in html and "HTTP 503" in html
    client.post(reverse("leads:settings_webhook_toggle", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.is_active is False


def test_subscriptions_set_exactly_the_ticked_marketers(client, marketer):
    other = MarketerFactory(username="mo", email="mo@example.com")
    RepFactory(username="rita")
    client.force_login(marketer)
    html = _page(client, "leads:settings_subscriptions")
    assert "mo · mo@example.com" in html and "rita" not in html
    client.post(reverse("leads:settings_subscriptions"), {"subscribers": [other.pk]})
    assert list(get_user_model().objects.filter(groups__name=SUBSCRIBERS_GROUP)) == [other]
    client.post(reverse("leads:settings_subscriptions"), {})
    assert not get_user_model().objects.filter(groups__name=SUBSCRIBERS_GROUP).exists()


def test_users_create_with_role_and_temporary_password(client, admin_user):
    client.force_login(admin_user)
    data = {"username": "newrep", "email": "n@example.com", "role": "rep", "password": "Correct-Horse-42"}
    assert client.post(reverse("leads:settings_users"), data).status_code == 302
    user = get_user_model().objects.get(username="newrep")
    assert list(user.groups.values_list("name", flat=True)) == [SALES_REPS]
    assert Client().login(username="newrep", password="Correct-Horse-42")


def test_users_create_refuses_taken_name_and_weak_password_naming_fields(client, admin_user, marketer):
    client.force_login(admin_user)
    data = {"username": "marketer", "role": "marketer", "password": "Correct-Horse-42"}
    html = client.post(reverse("leads:settings_users"), data).content.decode()
    assert "username: &#x27;marketer&#x27; is taken" in html
    html = client.post(
        reverse("leads:settings_users"), {**data, "username": "m2", "password": "123"}
    ).content.decode()
    assert "password: " in html and "too short" in html
    assert not get_user_model().objects.filter(username="m2").exists()


def test_user_deactivate_stops_sign_in_but_not_for_oneself(client, admin_user):
    person = MarketerFactory(username="leaver")
    person.set_password("Correct-Horse-42")
    person.save()
    client.force_login(admin_user)
    client.post(reverse("leads:settings_user_deactivate", args=[person.pk]))
    assert not Client().login(username="leaver", password="Correct-Horse-42")
    client.post(reverse("leads:settings_user_deactivate", args=[admin_user.pk]), follow=True)
    admin_user.refresh_from_db()
    assert admin_user.is_active and MARKETERS  # an admin cannot lock themselves out


def _failing_job(rq_redis):
    from rq import SimpleWorker

    from scoring_site.queueing import queue

    q = queue("default")
    job = q.enqueue("math.sqrt", -1)  # fails with "ValueError: math domain error"
    SimpleWorker([q], connection=rq_redis).work(burst=True)
    return q, job


def test_failed_jobs_list_requeue_and_delete(client, marketer, rq_redis):
    q, job = _failing_job(rq_redis)
    client.force_login(marketer)
    html = _page(client, "leads:settings_failed_jobs")
    assert job.id in html and "math.sqrt" in html and "ValueError: math domain error" in html
    client.post(
        reverse("leads:settings_failed_jobs"), {"queue": "default", "job_id": job.id, "action": "requeue"}
    )
    assert job.id in q.job_ids and job.id not in q.failed_job_registry
    q2, second = _failing_job(rq_redis)
    client.post(
        reverse("leads:settings_failed_jobs"), {"queue": "default", "job_id": second.id, "action": "delete"}
    )
    assert second.id not in q2.failed_job_registry
    response = client.post(
        reverse("leads:settings_failed_jobs"),
        {"queue": "default", "job_id": second.id, "action": "requeue"},
        follow=True,
    )
    assert "is no longer among the failed jobs" in response.content.decode()


def test_failed_jobs_with_redis_down_say_so(client, marketer, redis_down):
    client.force_login(marketer)
    response = client.get(reverse("leads:settings_failed_jobs"))
    assert response.status_code == 200 and "Redis is unavailable" in response.content.decode()
    response = client.post(
        reverse("leads:settings_failed_jobs"),
        {"queue": "default", "job_id": "x", "action": "requeue"},
        follow=True,
    )
    assert "Redis is unavailable" in response.content.decode()
