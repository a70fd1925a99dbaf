"""Qualification (§6): leads meeting the criteria become sales-ready, are assigned, the rep is
emailed and the outbound webhooks fire. A lead qualifies once per rise: it re-arms when its
score drops below T, and qualifies again when it rises again. Every qualification is logged."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from leads.db.bulk import update_rows
from leads.engine import scoring
from leads.models import Lead, Qualification, WebhookDelivery, WebhookEndpoint
from leads.roles import SALES_REPS
from leads.services import active_version, spec_for
from leads.workspace.filters import filtered_leads, parse_filters
from scoring_site.queueing import enqueue_or_outbox

log = logging.getLogger(__name__)

CHUNK_SIZE = 1000
MAX_ATTEMPTS = 6
FIRST_RETRY = timedelta(seconds=30)  # then 1, 2, 4, 8 minutes: exponential back-off
CLAIM_LEASE = timedelta(minutes=10)  # an attempt that dies mid-post is retried after this
SIGNATURE_HEADER = "X-Leadscore-Signature"
TIMEOUT_SECONDS = 10


def qualification_evaluate(*, now: datetime) -> tuple[int, int]:
    """Re-arm leads that dropped below T, qualify the ones at or above it. Returns (qualified, re-armed)."""
    version = active_version()
    threshold = spec_for(version).sales_ready_score
    rearmed = Lead.objects.filter(is_qualified=True, score__lt=threshold).update(is_qualified=False)
    candidates = (
        filtered_leads(parse_filters(version.qualification_filters or {}, allow_extra=()), Lead.objects.all())
        .filter(is_qualified=False, score__gte=threshold)
        .exclude(stage__in=scoring.SALES_OWNED_STAGES)
        .order_by("pk")
    )
    qualified = 0
    while True:
        chunk = list(candidates.select_related("account", "owner", "account__owner")[:CHUNK_SIZE])
        if not chunk:
            return qualified, rearmed
        _qualify(chunk, version, now)
        qualified += len(chunk)


def _qualify(leads: list[Lead], version, now: datetime) -> None:
    with transaction.atomic():
        rotation = _RoundRobin()
        rows, assignments = [], []
        for lead in leads:
            rep, how = _assignee(lead, rotation)
            rows.append(
                Qualification(lead=lead, at=now, rep=rep, version=version, score=lead.score, assigned_by=how)
            )
            assignments.append((lead.pk, True, now, rep.pk if rep else lead.owner_id))
        update_rows(Lead, ("is_qualified", "qualified_at", "owner"), assignments)
        Qualification.objects.bulk_create(rows)
        _announce(rows)


def _assignee(lead: Lead, rotation: _RoundRobin):
    if lead.account_id and lead.account.owner_id:
        return lead.account.owner, "account owner"
    if lead.owner_id:
        return lead.owner, "lead owner"
    rep = rotation.next()
    return rep, "round-robin" if rep else ""


class _RoundRobin:
    """Active reps in turn, continuing after whoever the last round-robin assignment went to."""

    def __init__(self):
        self.reps = list(
            get_user_model().objects.filter(groups__name=SALES_REPS, is_active=True).order_by("pk")
        )
        last = (
            Qualification.objects.filter(assigned_by="round-robin")
            .order_by("-at", "-id")
            .values_list("rep_id", flat=True)
            .first()
        )
        ids = [rep.pk for rep in self.reps]
        self.position = ids.index(last) + 1 if last in ids else 0

    def next(self):
        if not self.reps:
            return None
        rep = self.reps[self.position % len(self.reps)]
        self.position += 1
        return rep


def _announce(rows: list[Qualification]) -> None:
    by_rep = defaultdict(list)
    for row in rows:
        if row.rep is not None and row.rep.email:
            by_rep[row.rep].append(row)
    transaction.on_commit(lambda: _email_reps(by_rep))
    endpoints = list(WebhookEndpoint.objects.filter(is_active=True))
    deliveries = [
        WebhookDelivery(
            endpoint=endpoint,
            qualification=row,
            payload=qualification_payload(row),
            next_attempt_at=row.at + CLAIM_LEASE,
        )
        for row in rows
        for endpoint in endpoints
    ]
    for delivery in WebhookDelivery.objects.bulk_create(deliveries):
        enqueue_or_outbox(
            "default",
            "leads.background.jobs.webhook_deliver",
            reference=f"webhook:{delivery.pk}",
            delivery_id=delivery.pk,
        )


def qualification_payload(row: Qualification) -> dict:
    lead = row.lead
    return {
        "event": "lead.qualified",
        "qualified_at": row.at.isoformat(),
        "score": round(row.score, 2),
        "model_version": row.version.number if row.version else None,
        "lead": {
            "id": lead.pk,
            "email": lead.email,
            "name": lead.name,
            "title": lead.title,
            "account": lead.account.domain if lead.account_id else None,
            "url": settings.SITE_URL.rstrip("/") + reverse("leads:detail", args=[lead.pk]),
        },
        "assigned_to": {"username": row.rep.get_username(), "email": row.rep.email} if row.rep else None,
    }


def _email_reps(by_rep) -> None:
    for rep, rows in by_rep.items():
        context = {"rep": rep, "rows": rows, "site_url": settings.SITE_URL.rstrip("/")}
        try:
            send_mail(
                subject=f"{len(rows)} new sales-ready lead{'s' if len(rows) != 1 else ''} for you",
                message=render_to_string("leads/email/qualified.txt", context),
                html_message=render_to_string("leads/email/qualified.html", context),
                from_email=None,
                recipient_list=[rep.email],
            )
        except Exception as error:  # mail is best effort; the qualification and assignment stand
            log.error("Could not email %s about new sales-ready leads: %s", rep.email, error)


# --- outbound webhooks ------------------------------------------------------------------------


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def webhook_deliver(*, delivery_id: int, now: datetime | None = None) -> str:
    """One attempt. A failure schedules the next one (30 s, 1, 2, 4, 8 min); after 6 it gives up."""
    now = now or timezone.now()
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    if delivery is None or delivery.status != WebhookDelivery.Status.PENDING:
        return "nothing to do"
    claimed = WebhookDelivery.objects.filter(
        pk=delivery.pk, attempts=delivery.attempts, status=WebhookDelivery.Status.PENDING
    ).update(attempts=delivery.attempts + 1, next_attempt_at=now + CLAIM_LEASE)
    if not claimed:
        return "another worker has it"
    attempts = delivery.attempts + 1
    code, error = _post(delivery.endpoint, delivery.payload, delivery.pk)
    if error is None:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=WebhookDelivery.Status.DELIVERED,
            delivered_at=timezone.now(),
            last_status_code=code,
            last_error="",
            next_attempt_at=None,
        )
        return f"delivered ({code})"
    gave_up = attempts >= MAX_ATTEMPTS
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED if gave_up else WebhookDelivery.Status.PENDING,
        last_status_code=code,
        last_error=error[:300],
        next_attempt_at=None if gave_up else now + FIRST_RETRY * 2 ** (attempts - 1),
    )
    return f"attempt {attempts} failed: {error}"


def _post(endpoint: WebhookEndpoint, payload: dict, delivery_id: int) -> tuple[int | None, str | None]:
    body = json.dumps(payload, sort_keys=True).encode()
    request = urllib.request.Request(
        endpoint.url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Leadscore-Webhook/1",
            SIGNATURE_HEADER: signature(endpoint.secret, body),
            "X-Leadscore-Delivery": str(delivery_id),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, None
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError, ValueError) as error:
        return None, str(getattr(error, "reason", error))


def webhooks_retry_due(*, now: datetime) -> int:
    """Retry every pending delivery whose back-off has run out."""
    due = list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:200]
    )
    for delivery_id in due:
        webhook_deliver(delivery_id=delivery_id, now=now)
    return len(due)
