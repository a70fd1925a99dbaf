from leads.crm.models import CrmConnection, SyncRun
from leads.crm.services import crm_push
from tests.factories import LeadFactory


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
        "leadscore_why",
        "leadscore_updated_at",
    }


def test_crm_pages_are_for_marketers_only(client, rep, hubspot):
    client.force_login(rep)
    assert client.get("/leads/crm/hubspot/").status_code == 403
