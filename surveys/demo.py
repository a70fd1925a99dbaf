"""A year of NPS answers for the demo, so the dashboard is alive on first run.
Answers go through the same event ingest as real ones; running it twice adds nothing."""

from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

from django.db import transaction

from leads.ingest.events import events_ingest
from leads.models import Lead
from surveys.models import Invitation, Response, Survey
from surveys.services import nps_event, token_hash

DEMO_SURVEY = "Quarterly customer NPS"
REASONS = {
    "promoter": [
        "The scoring finally matches what sales sees.",
        "Great onboarding and fast support.",
        "Saves our team hours every week.",
        "Dashboards are clear; my boss loves them.",
        "Reliable, and the model review keeps it honest.",
    ],
    "passive": [
        "Good, but the import could be easier.",
        "Does the job. Pricing is a bit high.",
        "Solid product, wish it had more integrations.",
    ],
    "detractor": [
        "Too expensive for what we use.",
        "Support took a week to answer.",
        "Setup was confusing and we gave up.",
        "Scores did not match our reality.",
    ],
}


def load_demo_nps(
    *, now: datetime, seed: int = 42, invitations: int = 700, progress=lambda message: None
) -> int:
    """Returns the number of nps_response events stored (0 when the demo survey exists)."""
    if Survey.objects.filter(name=DEMO_SURVEY).exists():
        return 0
    rng = random.Random(seed + 7)
    leads = list(Lead.objects.exclude(email__isnull=True).order_by("pk").only("pk", "score"))
    chosen = rng.sample(leads, min(invitations, len(leads)))
    with transaction.atomic():
        survey = Survey.objects.create(name=DEMO_SURVEY, public_link_enabled=True)
        Survey.objects.filter(pk=survey.pk).update(created_at=now - timedelta(days=365))
        answers = _invite_and_answer(rng, survey, chosen, now)
        _public_answers(rng, survey, now)
        _latest_on_leads(answers)
    stored = events_ingest(events=[nps_event(response) for response in answers], now=now).stored
    progress(f"{len(answers)} NPS answers from {len(chosen)} invitations")
    return len(stored)


def _invite_and_answer(rng, survey, leads, now) -> list[Response]:
    invitations, answers = [], []
    for lead in leads:
        sent_at = now - timedelta(days=rng.uniform(1, 360), hours=rng.uniform(0, 12))
        invitation = Invitation(
            survey=survey,
            lead=lead,
            created_at=sent_at,
            sent_at=sent_at,
            expires_at=sent_at + timedelta(days=survey.expiry_days),
            token_hash=token_hash(secrets.token_urlsafe(32)),
            status=Invitation.Status.SENT,
            send_attempts=1,
        )
        invitations.append(invitation)
    Invitation.objects.bulk_create(invitations, batch_size=500)
    for invitation in invitations:
        if rng.random() > 0.5:
            continue
        score = _score_for(rng, invitation.lead.score)
        answered_at = min(invitation.sent_at + timedelta(hours=rng.uniform(0.2, 96)), now)
        answers.append(
            Response(
                survey=survey,
                invitation=invitation,
                lead=invitation.lead,
                score=score,
                reason=_reason(rng, score),
                channel=Response.Channel.PERSONAL,
                answered_at=answered_at,
            )
        )
        invitation.status = Invitation.Status.ANSWERED
    Invitation.objects.bulk_update(invitations, ["status"], batch_size=500)
    return Response.objects.bulk_create(answers, batch_size=500)


def _score_for(rng, lead_score: float) -> int:
    # Engaged leads lean towards recommending, so the engagement-vs-NPS view shows a pattern.
    lean = min(lead_score / 100, 1.0)
    return max(0, min(10, round(rng.gauss(6.5 + 3.5 * lean, 2.0))))


def _reason(rng, score: int) -> str:
    if rng.random() < 0.4:
        return ""
    group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
    return rng.choice(REASONS[group])


def _public_answers(rng, survey, now) -> None:
    Response.objects.bulk_create(
        [
            Response(
                survey=survey,
                score=_score_for(rng, rng.uniform(0, 80)),
                reason=_reason(rng, 8),
                channel=Response.Channel.PUBLIC,
                answered_at=now - timedelta(days=rng.uniform(0, 300)),
            )
            for _ in range(40)
        ]
    )


def _latest_on_leads(answers: list[Response]) -> None:
    latest = {}
    for response in sorted(answers, key=lambda r: r.answered_at):
        latest[response.lead_id] = response
    rows = Lead.objects.in_bulk(list(latest))
    for lead_id, response in latest.items():
        rows[lead_id].nps_score, rows[lead_id].nps_answered_at = response.score, response.answered_at
    Lead.objects.bulk_update(list(rows.values()), ["nps_score", "nps_answered_at"], batch_size=500)
