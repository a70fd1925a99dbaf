"""Writes for CRM sync: connect, push the leads whose values changed, pull closed deals.

A push marks each batch pushed in its own transaction only after the CRM answered, and the
CRM call is an idempotent upsert: a run killed at any point resends at most the batch that was
in flight and loses nothing. One push per connector runs at a time, through a lease row."""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leads.crm.connectors import BatchAnswer, CrmRateLimited, CrmUnavailable, PushRecord
from leads.crm.models import CrmConnection, LeadSync, PulledDeal, SyncRun
from leads.crm.secrets import SecretUnreadable, secret_decrypt, secret_encrypt, secret_hint
from leads.crm.selectors import changed_batches, changed_leads, push_queued_at, push_records
from leads.models import Lead
from scoring_site.queueing import enqueue_or_outbox

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 10.0
LEASE = timedelta(minutes=5)
RATE_LIMIT_RETRIES = 5
MAX_ERRORS_KEPT = 20
# Above this many changed leads a connector that can (Salesforce) sends Bulk API 2.0 jobs instead
# of collections calls; each job carries at most BULK_JOB_LEADS, so memory stays bounded.
BULK_ABOVE = 2_000
BULK_JOB_LEADS = 10_000
# A bulk job is polled inside one call, with no chance to renew the lease between polls.
BULK_LEASE = timedelta(minutes=30)


class CrmSettingsError(ValueError):
    """Bad connection settings, named by field."""


# --- connecting -----------------------------------------------------------------------------


def connection_save(
    *,
    kind: str,
    secret: str = "",
    base_url: str = "",
    client_id: str = "",
    score_delta: float | None = None,
    calls_per_window: int | None = None,
    field_mapping: dict | None = None,
) -> CrmConnection:
    """Create or change the connection for `kind`. An empty secret keeps the stored one."""
    if kind not in CrmConnection.Kind.values:
        raise CrmSettingsError(f"kind: must be one of {', '.join(CrmConnection.Kind.values)}")
    if kind == CrmConnection.Kind.SALESFORCE and not base_url:
        raise CrmSettingsError(
            "instance_url: Salesforce needs the instance URL, e.g. https://acme.my.salesforce.com"
        )
    if base_url and not base_url.startswith(("http://", "https://")):
        raise CrmSettingsError("base_url: must start with https:// (or http:// for a local proxy)")
    if score_delta is not None and score_delta < 0:
        raise CrmSettingsError("score_delta: must be zero or more points")
    if calls_per_window is not None and calls_per_window < 1:
        raise CrmSettingsError("calls_per_window: must be at least 1 call per 10 seconds")
    with transaction.atomic():
        connection, created = CrmConnection.objects.select_for_update().get_or_create(kind=kind)
        if created and not secret:
            raise CrmSettingsError("secret: a token, session id or client secret is needed to connect")
        connection.base_url = base_url.rstrip("/")
        connection.client_id = client_id
        if secret:
            connection.secret_encrypted, connection.secret_hint = secret_encrypt(secret), secret_hint(secret)
        if score_delta is not None:
            connection.score_delta = score_delta
        if calls_per_window is not None:
            connection.calls_per_window = calls_per_window
        if field_mapping is not None:
            connection.field_mapping = field_mapping
        connection.save()
    return connection


def connector_for(connection: CrmConnection):
    """The vendor connector, with the decrypted secret (kept in memory only)."""
    secret = secret_decrypt(connection.secret_encrypted)
    if connection.kind == CrmConnection.Kind.HUBSPOT:
        from leads.crm.connectors.hubspot import HubSpotConnector

        return HubSpotConnector(token=secret, base_url=connection.base_url)
    from leads.crm.connectors.salesforce import SalesforceConnector

    return SalesforceConnector(
        instance_url=connection.base_url, secret=secret, client_id=connection.client_id
    )


# --- pushing --------------------------------------------------------------------------------


class CallWindow:
    """At most `calls` calls in any `seconds`-long sliding window, for this run. The lease keeps
    a connector's push to one process, so the window needs no sharing."""

    def __init__(self, calls: int, seconds: float = WINDOW_SECONDS, clock=time.monotonic, sleep=time.sleep):
        self.calls, self.seconds, self.clock, self.sleep = calls, seconds, clock, sleep
        self.sent = deque()

    def wait(self) -> None:
        while len(self.sent) >= self.calls:
            wait = self.sent[0] + self.seconds - self.clock()
            if wait <= 0:
                self.sent.popleft()
                continue
            self.sleep(wait)
        self.sent.append(self.clock())

    def pause(self, seconds: float) -> None:
        self.sleep(seconds)


@dataclass
class PushResult:
    sent: int = 0
    batches: int = 0
    failed: int = 0
    pending: int = 0
    status: str = SyncRun.Status.OK
    errors: list[str] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)
    run_id: int | None = None

    def as_dict(self) -> dict:
        data = {
            "sent": self.sent,
            "batches": self.batches,
            "failed": self.failed,
            "pending": self.pending,
            "status": self.status,
            "errors": self.errors,
            "run": self.run_id,
        }
        if self.preview:
            data["preview"] = self.preview
        return data


def push_preview(*, connection: CrmConnection, limit: int | None = None) -> PushResult:
    """What the next push would send: counts for every batch, the records of the first."""
    size = _batch_size(connection)
    pending = changed_leads(connection=connection).count()
    first = next(
        changed_batches(connection=connection, size=min(size, limit or size), limit=limit or size), []
    )
    records = push_records(connection=connection, leads=first, now=timezone.now())
    if connection.kind == CrmConnection.Kind.SALESFORCE and pending > BULK_ABOVE:
        size = BULK_JOB_LEADS  # one Bulk API 2.0 job per this many leads
    return PushResult(
        batches=-(-pending // size),
        pending=pending,
        preview=[{"email": r.email, "properties": r.properties} for r in records],
    )


def crm_push(
    *,
    connection: CrmConnection,
    connector=None,
    window: CallWindow | None = None,
    between_batches: Callable[[int], None] | None = None,
) -> PushResult:
    """Send every changed lead, one batch per call within the call window. `between_batches`
    is called with the batch number after each batch is recorded (tests use it to kill a run)."""
    started = timezone.now()
    run = SyncRun.objects.create(connection=connection, direction=SyncRun.Direction.PUSH, started_at=started)
    owner = _lease_owner()
    if not _lease_take(connection, owner, run_id=run.id):
        return _run_finish(
            run,
            PushResult(
                status=SyncRun.Status.BUSY,
                pending=changed_leads(connection=connection).count(),
                errors=["Another push for this CRM is still running; this one did nothing."],
            ),
        )
    result = PushResult(status=SyncRun.Status.FAILED)
    try:
        connector = connector or connector_for(connection)
        window = window or CallWindow(connection.calls_per_window)
        if hasattr(connector, "push_bulk") and changed_leads(connection=connection).count() > BULK_ABOVE:
            _push_bulk(connection, connector, window, result, owner, between_batches)
        else:
            _push_batches(connection, connector, window, result, owner, between_batches)
        result.status = SyncRun.Status.PARTIAL if result.failed else SyncRun.Status.OK
    except (CrmUnavailable, SecretUnreadable) as error:
        _error(result, str(error))
    except Exception as error:
        _error(
            result, f"The run stopped on an unexpected error ({type(error).__name__}); nothing sent is lost."
        )
        raise
    finally:
        _lease_release(connection, owner)
        result.pending = changed_leads(connection=connection).count()
        _run_finish(run, result)
    return result


def _push_batches(connection, connector, window, result: PushResult, owner: str, between_batches) -> None:
    for batch in changed_batches(connection=connection, size=_batch_size(connection)):
        records = push_records(connection=connection, leads=batch, now=timezone.now())
        answer = _send(connector, window, records, result)
        _sent_count(connection, batch, answer, result)
        retried = _retry_alone(connector, window, connection, batch, records, answer, result)
        _batch_finish(connection, owner, result, records, retried.failed, between_batches)


def _push_bulk(connection, connector, window, result: PushResult, owner: str, between_batches) -> None:
    """Bulk jobs of up to BULK_JOB_LEADS leads, gathered from the same id-ordered batches (their
    records built a batch at a time, so the "why" replay reads one batch's events at once). A
    refused row is not retried alone here: it stays pending with Salesforce's reason."""
    leads: list[Lead] = []
    records: list[PushRecord] = []
    for batch in changed_batches(connection=connection, size=_batch_size(connection)):
        leads.extend(batch)
        records.extend(push_records(connection=connection, leads=batch, now=timezone.now()))
        if len(leads) >= BULK_JOB_LEADS:
            _bulk_job(connection, connector, window, result, owner, between_batches, leads, records)
            leads, records = [], []
    if leads:
        _bulk_job(connection, connector, window, result, owner, between_batches, leads, records)


def _bulk_job(
    connection, connector, window, result: PushResult, owner, between_batches, leads, records
) -> None:
    _lease_renew(connection, owner, for_=BULK_LEASE)
    answer = _send(connector, window, records, result, send=connector.push_bulk)
    _sent_count(connection, leads, answer, result)
    _batch_finish(connection, owner, result, records, answer.failed, between_batches)


def _sent_count(connection, leads, answer, result: PushResult) -> None:
    _mark(connection, leads, answer)
    result.batches += 1
    result.sent += len(answer.stored) + len(answer.unmatched)


def _batch_finish(connection, owner: str, result: PushResult, records, failed: dict, between_batches) -> None:
    """Count what finally failed (three reasons named in the log), keep the lease, report progress."""
    result.failed += len(failed)
    for lead_id, reason in list(failed.items())[:3]:
        _error(result, f"{_email(records, lead_id)}: {reason}")
    _lease_renew(connection, owner)
    if between_batches:
        between_batches(result.batches)


def _batch_size(connection: CrmConnection) -> int:
    return 100 if connection.kind == CrmConnection.Kind.HUBSPOT else 200


def _send(
    connector, window: CallWindow, records: list[PushRecord], result: PushResult, send=None
) -> BatchAnswer:
    for attempt in range(RATE_LIMIT_RETRIES + 1):
        window.wait()
        try:
            return (send or connector.push_batch)(records)
        except CrmRateLimited as limited:
            if attempt == RATE_LIMIT_RETRIES:
                raise CrmUnavailable(f"{limited}; still limited after {RATE_LIMIT_RETRIES} waits") from None
            _error(result, str(limited))
            window.pause(limited.retry_after)
    raise AssertionError("unreachable")


def _retry_alone(connector, window, connection, batch, records, answer: BatchAnswer, result) -> BatchAnswer:
    """A record refused inside a batch (a 207) is sent once more on its own."""
    if not answer.failed:
        return answer
    still = BatchAnswer()
    by_id = {record.lead_id: record for record in records}
    leads = {lead.id: lead for lead in batch}
    for lead_id in answer.failed:
        alone = _send(connector, window, [by_id[lead_id]], result)
        result.batches += 1
        _mark(connection, [leads[lead_id]], alone)
        result.sent += len(alone.stored)
        still.failed.update(alone.failed)
    return still


def _mark(connection: CrmConnection, batch: list[Lead], answer: BatchAnswer) -> None:
    """Record what the CRM answered for one batch, in one transaction."""
    now = timezone.now()
    rows = []
    for lead in batch:
        if lead.id in answer.stored or lead.id in answer.unmatched:
            status = LeadSync.Status.SYNCED if lead.id in answer.stored else LeadSync.Status.UNMATCHED
            rows.append(
                LeadSync(
                    connection=connection,
                    lead_id=lead.id,
                    status=status,
                    score=lead.score,
                    stage=lead.stage,
                    account_id=lead.account_id,
                    account_score=lead.account.score if lead.account else None,
                    pushed_at=now,
                    last_error="",
                )
            )
    with transaction.atomic():
        if rows:
            LeadSync.objects.bulk_create(
                rows,
                update_conflicts=True,
                unique_fields=["lead", "connection"],
                update_fields=[
                    "status",
                    "score",
                    "stage",
                    "account_id",
                    "account_score",
                    "pushed_at",
                    "last_error",
                ],
            )
        for lead_id, reason in answer.failed.items():
            # Refused: the last pushed values stay, so the lead stays pending.
            LeadSync.objects.update_or_create(
                connection=connection,
                lead_id=lead_id,
                defaults={"status": LeadSync.Status.FAILED, "last_error": reason[:300]},
            )


def _email(records: list[PushRecord], lead_id: int) -> str:
    return next((r.email for r in records if r.lead_id == lead_id), f"lead {lead_id}")


def _error(result: PushResult, message: str) -> None:
    if len(result.errors) < MAX_ERRORS_KEPT and message not in result.errors:
        result.errors.append(message)
    logger.warning("CRM sync: %s", message)


def _run_finish(run: SyncRun, result: PushResult) -> PushResult:
    run.status, run.finished_at = result.status, timezone.now()
    run.sent, run.batches, run.failed, run.pending = (
        result.sent,
        result.batches,
        result.failed,
        result.pending,
    )
    run.errors = result.errors
    run.save()
    result.run_id = run.id
    return result


def _lease_owner() -> str:
    """host:pid:nonce, so a run on the same host can tell that the holder is dead."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{uuid.uuid4().hex[:16]}"


def _lease_take(connection: CrmConnection, owner: str, run_id: int | None = None) -> bool:
    now = timezone.now()
    taken = (
        CrmConnection.objects.filter(pk=connection.pk)
        .filter(Q(push_lease_until__isnull=True) | Q(push_lease_until__lt=now))
        .update(push_lease_owner=owner, push_lease_until=now + LEASE)
    )
    if taken:
        _runs_stopped(connection, now, run_id)
        return True
    # A killed run never releases its lease; when it ran on this host and its process is gone,
    # waiting out the lease would only delay the changes it left pending.
    holder = CrmConnection.objects.filter(pk=connection.pk).values_list("push_lease_owner", flat=True).first()
    if not holder or not _holder_dead(holder):
        return False
    taken = CrmConnection.objects.filter(pk=connection.pk, push_lease_owner=holder).update(
        push_lease_owner=owner, push_lease_until=now + LEASE
    )
    if taken:
        _runs_stopped(connection, now, run_id)
    return taken == 1


def _runs_stopped(connection: CrmConnection, now, run_id: int | None) -> None:
    """Holding the lease, no other push of this connector can be running: one still marked
    running was killed (or hung past its lease)."""
    SyncRun.objects.filter(
        connection=connection, direction=SyncRun.Direction.PUSH, status=SyncRun.Status.RUNNING
    ).exclude(pk=run_id).update(
        status=SyncRun.Status.FAILED,
        finished_at=now,
        errors=["This run was stopped before it finished (its process died); the next run resumed."],
    )


def _holder_dead(holder: str) -> bool:
    host, _, rest = holder.partition(":")
    pid = rest.partition(":")[0]
    if host != socket.gethostname()[:30] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _lease_renew(connection: CrmConnection, owner: str, for_: timedelta = LEASE) -> None:
    CrmConnection.objects.filter(pk=connection.pk, push_lease_owner=owner).update(
        push_lease_until=timezone.now() + for_
    )


def _lease_release(connection: CrmConnection, owner: str) -> None:
    CrmConnection.objects.filter(pk=connection.pk, push_lease_owner=owner).update(
        push_lease_owner="", push_lease_until=None
    )


# --- pulling --------------------------------------------------------------------------------


@dataclass
class PullResult:
    deals: int = 0
    outcomes: int = 0
    unknown: int = 0
    status: str = SyncRun.Status.OK
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "deals": self.deals,
            "outcomes": self.outcomes,
            "unknown": self.unknown,
            "status": self.status,
            "errors": self.errors,
        }


def sync_user(connection: CrmConnection):
    """The rep a CRM's outcomes are recorded under: one account per CRM that cannot sign in."""
    user, created = get_user_model().objects.get_or_create(
        username=f"{connection.kind}-sync", defaults={"first_name": connection.get_kind_display()}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def crm_pull(*, connection: CrmConnection, connector=None) -> PullResult:
    """Closed won / lost deals of known leads become outcomes, once per deal, moving
    sales-owned stages through the same service a rep's outcome goes through."""
    # models_review sits above leads; the one call into it is deferred to here.
    from models_review.services import feedback_record

    run = SyncRun.objects.create(
        connection=connection, direction=SyncRun.Direction.PULL, started_at=timezone.now()
    )
    result = PullResult()
    try:
        connector = connector or connector_for(connection)
        deals = connector.closed_deals()
        seen = set(
            PulledDeal.objects.filter(
                connection=connection, external_id__in=[d.external_id for d in deals]
            ).values_list("external_id", flat=True)
        )
        rep = sync_user(connection)
        # Oldest first, so a lead's latest closed deal is the outcome it keeps.
        for deal in sorted(
            deals, key=lambda d: (d.closed_at is None, d.closed_at or timezone.now(), d.external_id)
        ):
            if deal.external_id in seen:
                continue
            result.deals += 1
            leads = list(Lead.objects.filter(email__in=deal.emails)) if deal.emails else []
            with transaction.atomic():
                PulledDeal.objects.create(
                    connection=connection,
                    external_id=deal.external_id,
                    lead=leads[0] if leads else None,
                    won=deal.won,
                    closed_at=deal.closed_at,
                )
                verdict = "won" if deal.won else "lost"
                note = f"{verdict.capitalize()} in {connection.get_kind_display()}: {deal.name}"
                for lead in leads:
                    feedback_record(lead=lead, rep=rep, changes={"outcome": verdict, "note": note})
                    result.outcomes += 1
            if not leads:
                result.unknown += 1
        CrmConnection.objects.filter(pk=connection.pk).update(pulled_until=timezone.now())
    except (CrmUnavailable, SecretUnreadable) as error:
        result.status = SyncRun.Status.FAILED
        result.errors.append(str(error))
    finally:
        run.status, run.finished_at, run.outcomes, run.errors = (
            result.status,
            timezone.now(),
            result.outcomes,
            result.errors,
        )
        run.save()
    return result


PUSH_JOB = "leads.crm.jobs.crm_push_connection"


def push_reference(connection: CrmConnection) -> str:
    return f"crm-push:{connection.kind}"


@dataclass
class PushQueued:
    already: bool = False  # a push asked for earlier has not started yet
    waiting_for_redis: bool = False


def crm_push_enqueue(*, connection: CrmConnection) -> PushQueued:
    """Queue one push of this connector now (the "Push now" button). A request not yet picked
    up by a worker is not queued twice; the lease would turn a second one into a no-op anyway."""
    if push_queued_at(connection=connection):
        return PushQueued(already=True)
    with transaction.atomic():
        queued = enqueue_or_outbox(
            "default", PUSH_JOB, reference=push_reference(connection), connection_id=connection.pk
        )
    # The outbox pushes to Redis when the transaction commits, so `waiting` is known here.
    return PushQueued(waiting_for_redis=queued.waiting)


def crm_push_connection(*, connection_id: int) -> str:
    connection = CrmConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return "connection removed; nothing to push"
    result = crm_push(connection=connection)
    return f"{connection.kind}: {result.sent} sent, {result.pending} pending"


def crm_push_active() -> str:
    """The periodic push: every active connection in turn."""
    results = [
        f"{c.kind}: {crm_push(connection=c).sent} sent" for c in CrmConnection.objects.filter(is_active=True)
    ]
    return ", ".join(results) or "no CRM connected"


def crm_pull_active() -> str:
    results = [
        f"{c.kind}: {crm_pull(connection=c).outcomes} outcomes"
        for c in CrmConnection.objects.filter(is_active=True)
    ]
    return ", ".join(results) or "no CRM connected"
