"""Salesforce push and pull through simple-salesforce against the TLS fake on loopback."""

from collections import Counter

import pytest

from leads.crm.models import LeadSync, SyncRun
from leads.crm.services import connection_save, crm_pull, crm_push
from leads.models import Lead, Stage
from models_review.models import SalesFeedback
from tests.factories import LeadFactory
from tests.leads.crm.fake_salesforce import FakeSalesforce


@pytest.fixture
def fake_sf(tmp_path, settings):
    fake = FakeSalesforce(tmp_path).start()
    settings.CRM_CA_BUNDLE = str(fake.cert)
    yield fake
    fake.stop()


@pytest.fixture
def salesforce(db, fake_sf):
    return connection_save(kind="salesforce", secret=fake_sf.session_id, base_url=fake_sf.url)


def test_salesforce_push_updates_contacts_and_leads_by_email_200_per_call(salesforce, fake_sf):
    ids = {}
    for n in range(450):
        kind = "Contact" if n % 2 else "Lead"
        ids[n] = fake_sf.add(kind, f"sf{n}@example.com")
        LeadFactory(email=f"sf{n}@example.com", score=n)

    result = crm_push(connection=salesforce)

    assert (result.sent, result.batches, result.failed, result.pending) == (450, 3, 0, 0)
    assert [len(ids_) for ids_ in fake_sf.patches] == [200, 200, 50]
    assert Counter(i for call in fake_sf.patches for i in call) == dict.fromkeys(ids.values(), 1)
    assert fake_sf.records[ids[7]]["Leadscore_Score__c"] == 7.0
    assert fake_sf.records[ids[8]]["Leadscore_Stage__c"] == "Stage 1"


def test_salesforce_push_unknown_email_is_unmatched_not_retried_until_it_changes(salesforce, fake_sf):
    fake_sf.add("Contact", "known@example.com")
    LeadFactory(email="known@example.com")
    stranger = LeadFactory(email="stranger@example.com", score=5)

    first = crm_push(connection=salesforce)
    second = crm_push(connection=salesforce)

    assert (first.sent, first.pending) == (2, 0) and second.sent == 0
    assert LeadSync.objects.get(lead=stranger).status == LeadSync.Status.UNMATCHED
    Lead.objects.filter(pk=stranger.pk).update(stage=Stage.SALES_READY)
    assert crm_push(connection=salesforce).sent == 1


def test_salesforce_push_refused_record_is_retried_alone(salesforce, fake_sf):
    for n in range(3):
        fake_sf.add("Lead", f"r{n}@example.com")
        LeadFactory(email=f"r{n}@example.com")
    fake_sf.faults.append(("refuse", "r1@example.com"))

    result = crm_push(connection=salesforce)

    assert [len(call) for call in fake_sf.patches] == [2, 1]
    assert (result.sent, result.failed, result.status) == (3, 0, SyncRun.Status.OK)


def test_salesforce_down_keeps_changes_pending(salesforce, fake_sf):
    fake_sf.add("Lead", "d@example.com")
    LeadFactory(email="d@example.com")
    fake_sf.faults.append(("status", 503))

    result = crm_push(connection=salesforce)

    assert (result.sent, result.pending, result.status) == (0, 1, SyncRun.Status.FAILED)
    assert "503" in result.errors[0]


def test_salesforce_client_credentials_get_a_session(db, fake_sf):
    connection = connection_save(kind="salesforce", secret="csecret", client_id="cid", base_url=fake_sf.url)
    fake_sf.add("Lead", "cc@example.com")
    LeadFactory(email="cc@example.com")

    assert crm_push(connection=connection).sent == 1


def test_salesforce_pull_two_won_one_lost_become_outcomes_once(salesforce, fake_sf, spec_model):
    a = LeadFactory(email="a@example.com", stage=Stage.SALES_READY)
    LeadFactory(email="b@example.com", stage=Stage.SALES_READY)
    c = LeadFactory(email="c@example.com", stage=Stage.SALES_READY)
    fake_sf.add_opportunity("006A", True, ["a@example.com"])
    fake_sf.add_opportunity("006B", True, ["b@example.com"])
    fake_sf.add_opportunity("006C", False, ["c@example.com"])

    assert crm_pull(connection=salesforce).outcomes == 3
    assert crm_pull(connection=salesforce).outcomes == 0
    assert SalesFeedback.objects.filter(outcome="won").count() == 2
    assert Lead.objects.get(pk=a.pk).stage == Stage.CUSTOMER
    assert Lead.objects.get(pk=c.pk).stage == Stage.SALES_READY
