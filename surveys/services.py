"""Writes for NPS surveys (SPEC §8): invitations, delivery, answers, the public rate limit."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from leads.ingest.events import NewEvent, event_ingest
from leads.models import Lead
from scoring_site.queueing import enqueue_or_outbox, waiting_for_workers
from surveys.models import Invitation, Response, SubmissionLog, Survey

log = logging.getLogger(__name__)

SUBMISSIONS_PER_MINUTE = 20
RATE_WINDOW = timedelta(minutes=1)
DELIVERY_CHUNK = 100
SEND_QUEUE = "default"
SEND_JOB = "surveys.jobs.invitations_send"


class AlreadyAnswered(Exception):
    pass


class LinkExpired(Exception):
    pass


class MailFailure(Exception):
    """The mail server did not take a chunk of invitations; they stay pending."""


def token_hash(raw_token: str) -> str:
    # Tokens are 256 random bits, so a plain digest is enough; no salt is needed to stop guessing.
    return hashlib.sha256(raw_token.encode()).hexdigest()


def survey_create(
    *,
    name: str,
    question: str,
    follow_up_question: str = "",
    thank_you_text: str,
    language: str = "en",
    expiry_days: int = 30,
    throttle_days: int = 90,
    public_link_enabled: bool = True,
    by=None,
) -> Survey:
    return Survey.objects.create(
        name=name,
        question=question,
        follow_up_question=follow_up_question,
        thank_you_text=thank_you_text,
        language=language,
        expiry_days=expiry_days,
        throttle_days=throttle_days,
        public_link_enabled=public_link_enabled,
        created_by=by,
    )


# --- sending -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class InvitationBatch:
    invited: int
    throttled: int
    without_email: int


def invitations_create(*, survey: Survey, leads: QuerySet, now: datetime | None = None) -> InvitationBatch:
    """One pending invitation per eligible lead, set-based. A lead surveyed (by any survey)
    within the throttle window, or without an email address, is skipped and counted."""
    now = now or timezone.now()
    chosen = Lead.objects.filter(pk__in=leads.order_by().values("pk"))
    recently_surveyed = Invitation.objects.filter(
        lead=OuterRef("pk"), created_at__gte=now - timedelta(days=survey.throttle_days)
    )
    with_email = chosen.exclude(Q(email__isnull=True) | Q(email=""))
    eligible = with_email.exclude(Exists(recently_surveyed))
    total, reachable = chosen.count(), with_email.count()
    invited = 0
    with transaction.atomic():
        batch = []
        for lead_id in eligible.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=2000):
            batch.append(Invitation(survey=survey, lead_id=lead_id, created_at=now))
            if len(batch) == 2000:
                invited += len(Invitation.objects.bulk_create(batch))
                batch = []
        invited += len(Invitation.objects.bulk_create(batch))
    return InvitationBatch(invited=invited, throttled=reachable - invited, without_email=total - reachable)


def invitations_send_reference(survey_id: int | None) -> str:
    return f"invitations:{survey_id if survey_id is not None else 'all'}"


def invitations_queue(*, survey_id: int | None = None) -> None:
    """Ask a worker to email pending invitations. With Redis down the request waits in the
    outbox and the sweep sends it once Redis answers; the periodic run also picks up any
    invitation still pending."""
    reference = invitations_send_reference(survey_id)
    # One waiting send already covers every pending invitation of the survey.
    if not waiting_for_workers(reference):
        enqueue_or_outbox(SEND_QUEUE, SEND_JOB, reference=reference, survey_id=survey_id)


def invitations_waiting_for_workers(*, survey_id: int | None) -> bool:
    """True while a send for the survey sits in the outbox because Redis was down."""
    return waiting_for_workers(invitations_send_reference(survey_id))


@dataclass(frozen=True)
class DeliveryResult:
    sent: int
    error: str = ""


def invitations_deliver(
    *, survey_id: int | None = None, now: datetime | None = None, chunk_size: int = DELIVERY_CHUNK
) -> DeliveryResult:
    """Email every pending invitation, a chunk per transaction. Walks ids upwards so a run
    visits each invitation once; a failed chunk stays pending for the next run."""
    pending = Invitation.objects.filter(status=Invitation.Status.PENDING)
    if survey_id is not None:
        pending = pending.filter(survey_id=survey_id)
    sent, after_id = 0, 0
    while True:
        with transaction.atomic():
            chunk = _claim(pending.filter(pk__gt=after_id), chunk_size)
            if not chunk:
                return DeliveryResult(sent=sent)
            after_id = chunk[-1].pk
            try:
                sent += _deliver(chunk, now or timezone.now())
            except MailFailure as failure:
                _record_failure(chunk, failure.__cause__)
                return DeliveryResult(sent=sent, error=str(failure))


def _claim(pending: QuerySet, chunk_size: int) -> list[Invitation]:
    rows = pending.select_related("lead", "survey").order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        # Two workers (the on-demand job and the periodic one) never mail the same lead twice.
        rows = rows.select_for_update(skip_locked=True, of=("self",))
    return list(rows[:chunk_size])


def _deliver(chunk: list[Invitation], now: datetime) -> int:
    messages, ready = [], []
    for invitation in chunk:
        if not invitation.lead.email:
            invitation.last_error = "The lead has no email address."
            continue
        raw_token = secrets.token_urlsafe(32)
        invitation.token_hash = token_hash(raw_token)
        invitation.status = Invitation.Status.SENT
        invitation.sent_at = now
        invitation.expires_at = now + timedelta(days=invitation.survey.expiry_days)
        invitation.send_attempts += 1
        invitation.last_error = ""
        messages.append(_invitation_email(invitation, raw_token))
        ready.append(invitation)
    # Sent inside the transaction: if the commit then fails, the links in those emails do not
    # work and the invitations stay pending, so the lead gets a fresh, working link next run.
    try:
        get_connection().send_messages(messages)
    except Exception as error:  # noqa: BLE001 - SMTP, DNS, TLS and socket errors all mean "not sent"
        raise MailFailure(f"{type(error).__name__}: {error}") from error
    Invitation.objects.bulk_update(
        chunk, ["token_hash", "status", "sent_at", "expires_at", "send_attempts", "last_error"]
    )
    return len(ready)


def _record_failure(chunk: list[Invitation], error: Exception) -> None:
    ids = [invitation.pk for invitation in chunk]
    log.error("Sending %d survey invitations failed: %s", len(ids), error)
    for invitation in Invitation.objects.filter(pk__in=ids):
        invitation.send_attempts += 1
        invitation.last_error = f"{type(error).__name__}: {error}"[:300]
        invitation.save(update_fields=["send_attempts", "last_error"])


def _invitation_email(invitation: Invitation, raw_token: str) -> EmailMessage:
    survey, lead = invitation.survey, invitation.lead
    link = settings.SITE_URL.rstrip("/") + reverse("surveys:respond", args=[raw_token])
    greeting = f"Hi {first_name(lead.name)}," if first_name(lead.name) else "Hello,"
    body = (
        f"{greeting}\n\n{survey.question}\n\nAnswer with one tap (it takes ten seconds):\n{link}\n\n"
        f"The link is personal and works until {invitation.expires_at:%d %B %Y}.\n"
    )
    return EmailMessage(subject=f"{survey.name}: one quick question", body=body, to=[lead.email])


def first_name(name: str) -> str:
    return (name or "").strip().split(" ")[0][:60]


# --- answers -------------------------------------------------------------------------------------


def invitation_for_token(raw_token: str) -> Invitation | None:
    if not raw_token or len(raw_token) > 100:
        return None
    return (
        Invitation.objects.select_related("survey", "lead").filter(token_hash=token_hash(raw_token)).first()
    )


def check_invitation_open(invitation: Invitation, now: datetime) -> None:
    if invitation.status == Invitation.Status.ANSWERED:
        raise AlreadyAnswered()
    if invitation.expires_at is None or invitation.expires_at <= now:
        raise LinkExpired()


def response_record(
    *, invitation: Invitation, score: int, reason: str = "", now: datetime | None = None
) -> Response:
    """Store a personal answer once. The one-to-one invitation column refuses a second row,
    so two tabs posting at the same instant store exactly one answer."""
    now = now or timezone.now()
    check_invitation_open(invitation, now)
    with transaction.atomic():
        try:
            with transaction.atomic():
                response = Response.objects.create(
                    survey=invitation.survey,
                    invitation=invitation,
                    lead=invitation.lead,
                    score=score,
                    reason=reason,
                    channel=Response.Channel.PERSONAL,
                    answered_at=now,
                )
        except IntegrityError:
            raise AlreadyAnswered() from None
        Invitation.objects.filter(pk=invitation.pk).update(status=Invitation.Status.ANSWERED)
        _lead_answered(response)
    return response


def public_response_record(
    *, survey: Survey, score: int, reason: str = "", now: datetime | None = None
) -> Response:
    """An answer through the survey's public link: anonymous, so it touches no lead."""
    return Response.objects.create(
        survey=survey,
        score=score,
        reason=reason,
        channel=Response.Channel.PUBLIC,
        answered_at=now or timezone.now(),
    )


def _lead_answered(response: Response) -> None:
    # Only a newer answer replaces the one on the lead (back-filled answers may arrive late).
    Lead.objects.filter(pk=response.lead_id).filter(
        Q(nps_answered_at__isnull=True) | Q(nps_answered_at__lte=response.answered_at)
    ).update(nps_score=response.score, nps_answered_at=response.answered_at, updated_at=timezone.now())
    event_ingest(event=nps_event(response))


def nps_event(response: Response) -> NewEvent:
    """The answer as an event, so scoring rules can use it (rule event_type "nps_response")."""
    return NewEvent(
        type="nps_response",
        occurred_at=response.answered_at,
        lead_id=response.lead_id,
        # The instant too: a reused primary key (SQLite may reuse a deleted row's) is not a duplicate.
        idempotency_key=f"nps-response-{response.pk}-{response.answered_at:%Y%m%dT%H%M%S%f}",
        source="nps",
        properties={"score": response.score, "survey": response.survey_id},
    )


# --- the public rate limit ---------------------------------------------------------------------


def submission_allowed(*, address: str, now: datetime | None = None) -> bool:
    """Count this post and say whether the address stays within 20 posts a minute.
    Refused posts count too, so a flood stays refused until it pauses for a minute."""
    now = now or timezone.now()
    key = hmac.new(settings.SECRET_KEY.encode(), address.encode(), hashlib.sha256).hexdigest()
    cutoff = (now - RATE_WINDOW).timestamp()
    with transaction.atomic():
        log, _ = SubmissionLog.objects.select_for_update().get_or_create(
            address_hash=key, defaults={"updated_at": now}
        )
        recent = [instant for instant in log.recent if instant > cutoff]
        allowed = len(recent) < SUBMISSIONS_PER_MINUTE
        log.recent = (recent + [now.timestamp()])[-SUBMISSIONS_PER_MINUTE:]
        log.updated_at = now
        log.save(update_fields=["recent", "updated_at"])
    return allowed


def submission_logs_prune(*, now: datetime | None = None) -> int:
    """Forget addresses that have not posted for an hour."""
    cutoff = (now or timezone.now()) - timedelta(hours=1)
    return SubmissionLog.objects.filter(updated_at__lt=cutoff).delete()[0]
