"""HubSpot push through hubspot-api-client against the loopback fake (tests/leads/crm/fake_hubspot.py)."""

from collections import Counter

import pytest

from leads.crm.models import LeadSync, SyncRun
from leads.crm.selectors import changed_leads
from leads.crm.services import CallWindow, crm_push
from leads.models import Lead, Stage
from tests.factories import AccountFactory, LeadFactory


def leads(n, **fields):
    return [LeadFactory(email=f"p{i}@example.com", score=10.0 * i, **fields) for i in range(n)]


def test_push_every_changed_lead_arrives_once_in_batches_of_100(hubspot, fake_hubspot):
    leads(250)

    result = crm_push(connection=hubspot)

    assert (result.sent, result.batches, result.failed, result.pending) == (250, 3, 0, 0)
    assert [len(call["emails"]) for call in fake_hubspot.upserts] == [100, 100, 50]
    assert Counter(fake_hubspot.received) == {f"p{i}@example.com": 1 for i in range(250)}
    assert fake_hubspot.contacts["p3@example.com"]["properties"]["leadscore_score"] == 30.0
    assert fake_hubspot.contacts["p3@example.com"]["properties"]["leadscore_stage"] == "Stage 1"
    assert SyncRun.objects.get().status == SyncRun.Status.OK


def test_push_sends_nothing_unchanged_and_only_moves_of_at_least_the_delta(hubspot, fake_hubspot):
    first, second, third, fourth = leads(4)
    crm_push(connection=hubspot)
    fake_hubspot.received.clear()
    Lead.objects.filter(pk=first.pk).update(score=first.score + 0.5)  # below the 1-point delta
    Lead.objects.filter(pk=second.pk).update(score=second.score + 1.0)  # exactly the delta
    Lead.objects.filter(pk=third.pk).update(stage=Stage.SALES_READY)
    Lead.objects.filter(pk=fourth.pk).update(account=AccountFactory())

    result = crm_push(connection=hubspot)

    assert sorted(fake_hubspot.received) == ["p1@example.com", "p2@example.com", "p3@example.com"]
    assert result.sent == 3
    fake_hubspot.received.clear()
    assert crm_push(connection=hubspot).sent == 0
    assert fake_hubspot.received == []


def test_push_waits_retry_after_then_resends_the_batch(hubspot, fake_hubspot):
    leads(3)
    fake_hubspot.fail_next(429, retry_after=0.5)

    result = crm_push(connection=hubspot)

    statuses = [status for _, status in fake_hubspot.responses]
    assert statuses == [429, 200]
    (limited_at, _), (retried_at, _) = fake_hubspot.responses
    assert retried_at - limited_at >= 0.5
    assert (result.sent, result.pending) == (3, 0)
    assert Counter(fake_hubspot.received) == {"p0@example.com": 1, "p1@example.com": 1, "p2@example.com": 1}
    assert "429" in result.errors[0]


def test_push_retries_the_refused_record_alone(hubspot, fake_hubspot):
    leads(5)
    fake_hubspot.refuse_once("p2@example.com")

    result = crm_push(connection=hubspot)

    assert [sorted(call["emails"]) for call in fake_hubspot.upserts] == [
        ["p0@example.com", "p1@example.com", "p3@example.com", "p4@example.com"],
        ["p2@example.com"],
    ]
    assert (result.sent, result.failed, result.pending) == (5, 0, 0)


def test_push_a_record_refused_twice_stays_pending_with_the_reason(hubspot, fake_hubspot):
    leads(3)
    fake_hubspot.refuse_always.add("p1@example.com")

    result = crm_push(connection=hubspot)

    assert (result.sent, result.failed, result.pending, result.status) == (2, 1, 1, SyncRun.Status.PARTIAL)
    sync = LeadSync.objects.get(lead__email="p1@example.com")
    assert sync.status == LeadSync.Status.FAILED and "not valid" in sync.last_error
    assert any(error.startswith("p1@example.com:") for error in result.errors)


def test_push_crm_down_keeps_every_change_pending(hubspot, fake_hubspot):
    leads(3)
    fake_hubspot.fail_next(503)

    result = crm_push(connection=hubspot)

    assert (result.sent, result.pending, result.status) == (0, 3, SyncRun.Status.FAILED)
    assert "503" in result.errors[0]
    assert crm_push(connection=hubspot).sent == 3


def test_push_unreachable_crm_is_a_sentence_not_a_traceback(hubspot, fake_hubspot):
    leads(2)
    fake_hubspot.stop()

    result = crm_push(connection=hubspot)

    assert result.status == SyncRun.Status.FAILED and result.pending == 2
    assert "could not be reached" in result.errors[0]


def test_push_killed_between_batches_then_restarted_sends_nothing_twice(hubspot, fake_hubspot):
    leads(350)

    class Killed(Exception):
        pass

    def kill_after_second(batch_number):
        if batch_number == 2:
            raise Killed

    with pytest.raises(Killed):
        crm_push(connection=hubspot, between_batches=kill_after_second)
    assert len(fake_hubspot.received) == 200
    assert changed_leads(connection=hubspot).count() == 150

    result = crm_push(connection=hubspot)

    assert result.sent == 150
    assert Counter(fake_hubspot.received) == {f"p{i}@example.com": 1 for i in range(350)}


def test_push_second_run_while_one_holds_the_lease_does_nothing(hubspot, fake_hubspot):
    leads(2)
    from leads.crm.services import _lease_take

    assert _lease_take(hubspot, "another-process")

    result = crm_push(connection=hubspot)

    assert result.status == SyncRun.Status.BUSY and result.sent == 0 and fake_hubspot.received == []


def test_call_window_never_allows_more_than_its_calls_in_ten_seconds():
    now = [0.0]
    window = CallWindow(3, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    calls = []
    for _ in range(7):
        window.wait()
        calls.append(now[0])
    assert calls == [0.0, 0.0, 0.0, 10.0, 10.0, 10.0, 20.0]


def test_push_wrong_token_says_so(db, fake_hubspot):
    from leads.crm.services import connection_save

    connection = connection_save(kind="hubspot", secret="pat-wrong", base_url=fake_hubspot.url)
    leads(1)

    result = crm_push(connection=connection)

    assert result.status == SyncRun.Status.FAILED and "401" in result.errors[0]


def test_push_takes_over_the_lease_of_a_dead_process_on_this_host(hubspot, fake_hubspot):
    import socket
    import subprocess
    import sys

    from leads.crm.services import _lease_take

    leads(2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()  # reaped: its pid names no process now
    assert _lease_take(hubspot, f"{socket.gethostname()[:30]}:{dead.pid}:feedface")
    stale = SyncRun.objects.create(
        connection=hubspot, direction=SyncRun.Direction.PUSH, started_at=hubspot.created_at
    )

    result = crm_push(connection=hubspot)

    assert (result.status, result.sent) == (SyncRun.Status.OK, 2)
    stale.refresh_from_db()
    assert stale.status == SyncRun.Status.FAILED and "stopped before it finished" in stale.errors[0]


def test_push_leaves_the_lease_of_a_live_process_on_this_host(hubspot, fake_hubspot):
    import os
    import socket

    from leads.crm.services import _lease_take

    leads(1)
    assert _lease_take(hubspot, f"{socket.gethostname()[:30]}:{os.getppid()}:feedface")

    assert crm_push(connection=hubspot).status == SyncRun.Status.BUSY


def test_push_after_an_expired_lease_marks_the_killed_run_stopped(hubspot, fake_hubspot):
    from datetime import timedelta

    from leads.crm.models import CrmConnection

    leads(1)
    CrmConnection.objects.filter(pk=hubspot.pk).update(
        push_lease_owner="other-host:123:feedface", push_lease_until=hubspot.created_at - timedelta(seconds=1)
    )
    killed = SyncRun.objects.create(
        connection=hubspot, direction=SyncRun.Direction.PUSH, started_at=hubspot.created_at
    )

    assert crm_push(connection=hubspot).sent == 1
    killed.refresh_from_db()
    assert killed.status == SyncRun.Status.FAILED and killed.finished_at is not None
