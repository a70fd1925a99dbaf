import json

import pytest
from django.core.management import CommandError, call_command

from leads.crm.models import CrmConnection
from leads.crm.secrets import secret_decrypt
from tests.factories import LeadFactory


def run(*args) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_crm_connect_stores_the_token_encrypted_and_never_prints_it(db, fake_hubspot):
    output = run(
        "crm_connect", "hubspot", "--token", "pat-na1-secret-token-1234", "--base-url", fake_hubspot.url
    )

    connection = CrmConnection.objects.get(kind="hubspot")
    assert "pat-na1-secret-token-1234" not in output
    assert "pat-na1-secret-token" not in connection.secret_encrypted
    assert secret_decrypt(connection.secret_encrypted) == "pat-na1-secret-token-1234"
    assert connection.secret_hint == "…1234"


def test_crm_connect_salesforce_needs_exactly_one_way_in(db):
    with pytest.raises(CommandError, match="--session-id or --client-id"):
        run("crm_connect", "salesforce", "--instance-url", "https://acme.my.salesforce.com")


def test_crm_push_dry_run_json_sends_nothing_and_counts_batches(hubspot, fake_hubspot):
    for n in range(150):
        LeadFactory(email=f"d{n}@example.com", score=n)

    data = json.loads(run("crm_push", "hubspot", "--dry-run", "--json"))

    assert {key: data[key] for key in ("sent", "batches", "failed", "pending")} == {
        "sent": 0,
        "batches": 2,
        "failed": 0,
        "pending": 150,
    }
    assert len(data["preview"]) == 100 and data["preview"][0]["email"] == "d0@example.com"
    assert fake_hubspot.upserts == []


def test_crm_push_json_prints_the_counts_of_the_run(hubspot, fake_hubspot):
    for n in range(120):
        LeadFactory(email=f"s{n}@example.com", score=n)

    data = json.loads(run("crm_push", "hubspot", "--json"))

    assert (data["sent"], data["batches"], data["failed"], data["pending"]) == (120, 2, 0, 0)


def test_crm_push_not_connected_says_how_to_connect(db):
    with pytest.raises(CommandError, match="crm_connect hubspot"):
        run("crm_push", "hubspot")
