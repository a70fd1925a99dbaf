import pytest

from leads.crm.models import CrmConnection, SyncRun
from leads.crm.services import crm_push
from leads.models import OutboxJob
from tests.factories import LeadFactory
from tests.redis_fixtures import run_worker


def test_crm_sync_page_shows_runs_waiting_leads_errors_and_the_next_batch(
    client, marketer, hubspot, fake_hubspot
):
    LeadFactory(email="first@example.com", score=12)
    fake_hubspot.fail_next(503)
    crm_push(connection=hubspot)
    LeadFactory(email="<script>x</script>@example.com", score=3)
    client.force_login(marketer)

    page = client.get("/leads/crm/hubspot/").content.decode()

    assert "2</strong> leads changed" in page
    assert "HubSpot answered 503" in page
    assert SyncRun.Status.FAILED.label.split(";")[0] in page
    assert "<code>leadscore_score</code>=12.0" in page
    assert "<script>x</script>" not in page
    assert hubspot.secret_hint not in ("", None) and fake_hubspot.token not in page


def test_crm_sync_form_saves_mapping_and_keeps_the_secret_when_left_empty(client, marketer, hubspot):
    client.force_login(marketer)
    before = hubspot.secret_encrypted
    response = client.post(
        "/leads/crm/hubspot/",
        {
            "secret": "",
            "base_url": hubspot.base_url,
            "score_delta": "2.5",
            "calls_per_window": "190",
            "is_active": "on",
            "map_score": "lead_score_custom",
            "map_stage": "",
            "map_account_score": "x",
            "map_why": "why",
            "map_updated_at": "updated",
        },
    )

    assert response.status_code == 302
    connection = CrmConnection.objects.get()
    assert connection.secret_encrypted == before
    assert (connection.score_delta, connection.calls_per_window) == (2.5, 190)
    assert connection.mapping["score"] == "lead_score_custom" and connection.mapping["stage"] == ""


def test_crm_sync_form_names_a_bad_property_field(client, marketer, hubspot):
    client.force_login(marketer)
    response = client.post(
        "/leads/crm/hubspot/",
        {
            "score_delta": "-1",
            "calls_per_window": "100",
            "map_score": "has space",
        },
    )

    page = response.content.decode()
    assert response.status_code == 200
    assert "Letters, digits and underscores only" in page
    assert "greater than or equal to 0" in page


def test_crm_create_properties_in_hubspot(client, marketer, hubspot, fake_hubspot):
    client.force_login(marketer)

    client.post("/leads/crm/hubspot/properties")
    client.post("/leads/crm/hubspot/properties")

    assert set(fake_hubspot.properties) == {
        "leadscore_score",
        "leadscore_stage",
        "leadscore_account_score",
        "leadscore_likelihood",
        "leadscore_why",
        "leadscore_updated_at",
    }


def test_crm_pages_are_for_marketers_only(client, rep, hubspot):
    client.force_login(rep)
    assert client.get("/leads/crm/hubspot/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_crm_push_now_queues_one_push_the_page_says_so_and_a_worker_runs_it(
    client, marketer, hubspot, fake_hubspot, rq_redis
):
    LeadFactory(email="now1@example.com", score=4)
    LeadFactory(email="now2@example.com", score=9)
    client.force_login(marketer)

    first = client.post("/leads/crm/hubspot/push", follow=True).content.decode()
    second = client.post("/leads/crm/hubspot/push", follow=True).content.decode()

    assert "Push to HubSpot queued; it starts when a worker is free." in first
    assert '<span class="badge">Queued</span>' in first
    assert "A push to HubSpot is already queued" in second
    assert OutboxJob.objects.filter(reference="crm-push:hubspot").count() == 1
    assert fake_hubspot.received == []  # queued, not run in the request

    run_worker(rq_redis, "default")

    assert sorted(fake_hubspot.received) == ["now1@example.com", "now2@example.com"]
    run = SyncRun.objects.get()
    assert (run.status, run.sent) == (SyncRun.Status.OK, 2)
    page = client.get("/leads/crm/hubspot/").content.decode()
    assert '<span class="badge">Queued</span>' not in page and "Push now</button>" in page


@pytest.mark.django_db(transaction=True)
def test_crm_push_now_with_redis_down_keeps_the_job_and_says_it_waits(client, marketer, hubspot, redis_down):
    client.force_login(marketer)

    page = client.post("/leads/crm/hubspot/push", follow=True).content.decode()

    assert "The job queue (Redis) is not answering" in page
    assert OutboxJob.objects.get(reference="crm-push:hubspot").sent_at is None


def test_crm_push_now_is_for_marketers_and_posts_only(client, rep, marketer, hubspot):
    client.force_login(rep)
    assert client.post("/leads/crm/hubspot/push").status_code == 403
    client.force_login(marketer)
    assert client.get("/leads/crm/hubspot/push").status_code == 405
    assert client.post("/leads/crm/salesforce/push").status_code == 404
    assert not OutboxJob.objects.exists()
