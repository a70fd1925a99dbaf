"""Salesforce push and pull through simple-salesforce against the TLS fake on loopback."""

from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given
from hypothesis import settings as settings_
from hypothesis import strategies as st

from leads.crm.connectors import PushRecord
from leads.crm.connectors.salesforce import BULK_NULL, SalesforceConnector
from leads.crm.models import LeadSync, SyncRun
from leads.crm.services import connection_save, crm_pull, crm_push, push_preview
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


@pytest.fixture
def quick_bulk_poll(monkeypatch):
    # The fake completes a job when it is closed; no need to wait simple-salesforce's 2 s.
    monkeypatch.setattr(SalesforceConnector, "bulk_poll_seconds", 0.05)


def many_leads(fake_sf, count, sobject="Lead"):
    Lead.objects.bulk_create(
        Lead(email=f"bulk{n}@example.com", name=f"Bulk {n}", score=float(n % 50)) for n in range(count)
    )
    return {f"bulk{n}@example.com": fake_sf.add(sobject, f"bulk{n}@example.com") for n in range(count)}


def test_salesforce_push_above_2000_goes_through_one_bulk_job(salesforce, fake_sf, quick_bulk_poll):
    ids = many_leads(fake_sf, 2_500)
    fake_sf.refuse_always.add("bulk7@example.com")

    result = crm_push(connection=salesforce)

    assert fake_sf.patches == []  # no sObject Collections call
    assert len(fake_sf.jobs) == 1
    (job,) = fake_sf.jobs.values()
    assert (job["object"], job["operation"], job["state"]) == ("Lead", "update", "JobComplete")
    assert Counter(row["Id"] for row in job["rows"]) == dict.fromkeys(ids.values(), 1)
    assert (result.sent, result.batches, result.failed, result.pending) == (2_499, 1, 1, 1)
    assert fake_sf.records[ids["bulk42@example.com"]]["Leadscore_Score__c"] == "42.0"
    assert "Leadscore_Score__c" not in fake_sf.records[ids["bulk7@example.com"]]
    refused = LeadSync.objects.get(lead__email="bulk7@example.com")
    assert refused.status == LeadSync.Status.FAILED and "score out of range" in refused.last_error
    assert any(error.startswith("bulk7@example.com: FIELD_CUSTOM_VALIDATION") for error in result.errors)
    assert result.status == SyncRun.Status.PARTIAL


def test_salesforce_bulk_refused_record_is_sent_again_next_run_by_collections(
    salesforce, fake_sf, quick_bulk_poll
):
    ids = many_leads(fake_sf, 2_001)
    fake_sf.refuse_always.add("bulk3@example.com")
    crm_push(connection=salesforce)
    fake_sf.refuse_always.clear()

    again = crm_push(connection=salesforce)

    assert len(fake_sf.jobs) == 1 and fake_sf.patches == [[ids["bulk3@example.com"]]]
    assert (again.sent, again.pending) == (1, 0)


def test_salesforce_push_of_exactly_2000_uses_collections(salesforce, fake_sf, quick_bulk_poll):
    many_leads(fake_sf, 2_000)

    result = crm_push(connection=salesforce)

    assert fake_sf.jobs == {}
    assert [len(call) for call in fake_sf.patches] == [200] * 10
    assert (result.sent, result.batches, result.pending) == (2_000, 10, 0)


def test_salesforce_bulk_matches_contacts_and_leads_one_job_per_type(salesforce, fake_sf, quick_bulk_poll):
    Lead.objects.bulk_create(Lead(email=f"m{n}@example.com", name=f"M {n}") for n in range(2_100))
    for n in range(2_100):
        fake_sf.add("Contact" if n < 100 else "Lead", f"m{n}@example.com")

    result = crm_push(connection=salesforce)

    sizes = sorted((job["object"], len(job["rows"])) for job in fake_sf.jobs.values())
    assert sizes == [("Contact", 100), ("Lead", 2_000)]
    assert (result.sent, result.failed, result.pending) == (2_100, 0, 0)


def test_salesforce_bulk_job_that_fails_keeps_every_change_pending(salesforce, fake_sf, quick_bulk_poll):
    many_leads(fake_sf, 2_001)
    fake_sf.faults.append(("job", "Failed"))

    result = crm_push(connection=salesforce)

    assert (result.sent, result.pending, result.status) == (0, 2_001, SyncRun.Status.FAILED)
    assert "bulk job did not complete" in result.errors[0]


def test_salesforce_preview_above_2000_counts_bulk_jobs(salesforce, fake_sf):
    many_leads(fake_sf, 2_500)

    preview = push_preview(connection=salesforce)

    assert (preview.pending, preview.batches, len(preview.preview)) == (2_500, 1, 200)


def test_salesforce_bulk_splits_jobs_at_the_job_size(salesforce, fake_sf, quick_bulk_poll, monkeypatch):
    from leads.crm import services

    monkeypatch.setattr(services, "BULK_JOB_LEADS", 1_000)
    ids = many_leads(fake_sf, 2_500)

    result = crm_push(connection=salesforce)

    assert [len(job["rows"]) for job in fake_sf.jobs.values()] == [1_000, 1_000, 500]
    assert Counter(row["Id"] for job in fake_sf.jobs.values() for row in job["rows"]) == dict.fromkeys(
        ids.values(), 1
    )
    assert (result.sent, result.batches, result.pending) == (2_500, 3, 0)


@settings_(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    why=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80).filter(
        lambda text: text != BULK_NULL
    )
)
@example(why="")
@example(why='a, "b"\r\nc')
def test_salesforce_bulk_csv_carries_any_text_unchanged(fake_sf, quick_bulk_poll, why):
    """Commas, quotes, newlines and any script in a value reach the record as they were sent, and
    an empty value clears the field (an empty bulk CSV cell would leave the old value)."""
    fake_sf.records.clear()
    record_id = fake_sf.add("Lead", "csv@example.com")
    connector = SalesforceConnector(instance_url=fake_sf.url, secret=fake_sf.session_id)

    answer = connector.push_bulk([PushRecord(lead_id=1, email="csv@example.com", properties={"Why__c": why})])

    assert answer.stored == {1} and answer.failed == {}
    assert fake_sf.records[record_id]["Why__c"] == (why or None)  # "" is sent as #N/A: cleared


def test_salesforce_bulk_two_leads_whose_emails_differ_in_case_send_one_row_both_synced(
    salesforce, fake_sf, quick_bulk_poll
):
    many_leads(fake_sf, 2_001)
    twin = LeadFactory(email="BULK5@example.com", score=77.0)  # Salesforce matches email without case

    result = crm_push(connection=salesforce)

    (job,) = fake_sf.jobs.values()
    assert len(job["rows"]) == 2_001 and (result.sent, result.pending) == (2_002, 0)
    assert LeadSync.objects.get(lead=twin).status == LeadSync.Status.SYNCED
    (record,) = [r for r in fake_sf.records.values() if r["Email"].lower() == "bulk5@example.com"]
    assert record["Leadscore_Score__c"] == "77.0"  # the newest lead's values


def test_salesforce_bulk_job_runs_under_a_30_minute_lease(salesforce, fake_sf, quick_bulk_poll, monkeypatch):
    from leads.crm import services
    from leads.crm.models import CrmConnection

    many_leads(fake_sf, 2_001)
    seen = []
    connector = SalesforceConnector(instance_url=fake_sf.url, secret=fake_sf.session_id)
    push_bulk = connector.push_bulk

    def watched(records):
        seen.append(CrmConnection.objects.get(pk=salesforce.pk).push_lease_until - services.timezone.now())
        return push_bulk(records)

    monkeypatch.setattr(connector, "push_bulk", watched)

    assert crm_push(connection=salesforce, connector=connector).sent == 2_001
    (left,) = seen
    assert 29 * 60 < left.total_seconds() <= 30 * 60
