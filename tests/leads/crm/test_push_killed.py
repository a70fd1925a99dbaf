"""Acceptance (§12): a real `manage.py crm_push hubspot` killed with SIGKILL mid-run, then run
again, loses nothing and duplicates nothing at the CRM.

The one window where something can be sent twice is "HubSpot stored the batch, we had not
recorded it yet": the fake stores the third batch and holds its answer, and the test kills the
process then. The restarted run sends that batch again; this test shows exactly what that costs:
the same 100 contacts upserted a second time by email with the same values (only
leadscore_updated_at moves), no duplicate contact, every other lead sent once."""

import json
import os
import signal
import subprocess
import sys
from collections import Counter

import pytest
from django.conf import settings
from django.db import connection

from leads.crm.models import LeadSync, SyncRun
from leads.crm.selectors import changed_leads
from leads.crm.services import connection_save
from leads.models import Lead

LEADS = 350


def crm_push_process() -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.leads.crm.process_settings",
        "LEADSCORE_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "PYTHONPATH": str(settings.BASE_DIR),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "crm_push", "hubspot", "--json"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.django_db(transaction=True)
def test_push_sigkilled_while_the_crm_answers_then_rerun_loses_and_duplicates_nothing(fake_hubspot):
    hubspot = connection_save(kind="hubspot", secret=fake_hubspot.token, base_url=fake_hubspot.url)
    Lead.objects.bulk_create(
        Lead(email=f"k{n:03d}@example.com", name=f"K {n}", score=float(n)) for n in range(LEADS)
    )
    fake_hubspot.hold_after = 2

    first = crm_push_process()
    try:
        held = fake_hubspot.held.wait(60)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    assert held, f"the push never reached its third batch: {first.stderr.read()[-2000:]}"
    assert first.returncode == -signal.SIGKILL

    # The CRM stored three batches; the database recorded two, so 150 leads (the held 100 among
    # them) are still pending and the killed run's lease is still taken.
    assert len(fake_hubspot.received) == 300
    assert LeadSync.objects.filter(connection=hubspot).count() == 200
    assert changed_leads(connection=hubspot).count() == 150
    fake_hubspot.hold_after = None
    fake_hubspot.release.set()

    second = crm_push_process()
    out, err = second.communicate(timeout=120)
    assert second.returncode == 0, err[-2000:]
    counts = json.loads(out)

    assert (counts["sent"], counts["batches"], counts["failed"], counts["pending"]) == (150, 2, 0, 0)
    emails = [f"k{n:03d}@example.com" for n in range(LEADS)]
    resent = set(emails[200:300])
    assert set(fake_hubspot.contacts) == set(emails)  # no lead lost
    assert len({c["id"] for c in fake_hubspot.contacts.values()}) == LEADS  # no duplicate contact
    assert Counter(fake_hubspot.received) == {e: 2 if e in resent else 1 for e in emails}
    for email in resent:
        before, after = fake_hubspot.versions[email]
        assert before["leadscore_updated_at"] <= after["leadscore_updated_at"]
        del before["leadscore_updated_at"], after["leadscore_updated_at"]
        assert before == after
    assert fake_hubspot.contacts["k250@example.com"]["properties"]["leadscore_score"] == 250.0
    runs = list(SyncRun.objects.filter(connection=hubspot).order_by("started_at"))
    assert [run.status for run in runs] == [SyncRun.Status.FAILED, SyncRun.Status.OK]
    assert "stopped before it finished" in runs[0].errors[0]
