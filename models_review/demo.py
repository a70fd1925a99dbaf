"""Sales feedback and outcomes for the demo history (§7, §11), recorded through
`feedback_record` as a rep's clicks are, so stages, versions and labels follow the real rules.

Reps answer most handed-over leads; the answer and the outcome follow the lead's persona (hot
leads are judged sales-ready and convert far more often than cold ones, job seekers and
students never) and what the lead did, as a rep on the call hears it: a lead that mostly
read the blog is more often "just researching" than one whose activity was pricing, demos,
forms and trials. So the labels carry a signal learning can find. Seeded, and a lead that
already has feedback is left alone, so a second run adds nothing."""

from __future__ import annotations

import functools
import operator
import random

from django.db.models import Count, Q

from leads.models import Event, Lead
from leads.services import active_version, lead_disqualify
from models_review.models import SalesFeedback
from models_review.services import feedback_record, review_complete

ANSWERED_SHARE = 0.85
# persona: (chance the rep says "really sales-ready", then given yes: opportunity, won, lost)
SALES_ODDS = {
    "hot": (0.8, 0.35, 0.3, 0.15),
    "warm": (0.55, 0.3, 0.1, 0.3),
    "cooling": (0.3, 0.15, 0.05, 0.4),
    "cold": (0.15, 0.1, 0.0, 0.5),
    "job_seeker": (0.0, 0.0, 0.0, 0.0),
    "student": (0.0, 0.0, 0.0, 0.0),
}
# What a rep hears on the call: a lead whose activity is mostly buying actions (pricing and
# demo pages, forms, webinars, trials, product videos) rather than reading is likelier a yes.
# The chance moves by INTENT_WEIGHT × (the lead's share of buying actions − TYPICAL_SHARE).
INTENT_WEIGHT = 1.0
TYPICAL_SHARE = 0.5
BUYING_TYPES = ("form_submit", "webinar_attend", "video_play", "custom")
SALES_PAGES = ("/pricing", "/demo", "/contact-sales")
NOT_READY_REASONS = ("not_decision_maker", "no_budget", "bad_timing", "competitor")
PERSONA_REASONS = {"job_seeker": "job_seeker", "student": "student"}
YES_NOTES = (
    "Asked for pricing on the call",
    "Evaluating against a spreadsheet",
    "Budget approved for Q3",
    "",
)
GOOD_ACTIONS = (
    "Watched the whole product video before the call",
    "Came from the webinar with questions",
    "Read the pricing page twice",
    "Downloaded the whitepaper and shared it internally",
)
NO_NOTES = ("Just researching", "Wrong department", "Came back next quarter", "")


def load_demo_feedback(*, personas: dict[int, str], seed: int = 42) -> int:
    """Feedback on handed-over demo leads; `personas` maps lead id to persona name. Returns how
    many answers were recorded."""
    answered = SalesFeedback.objects.values("lead_id")
    handed = (
        Lead.objects.filter(pk__in=list(personas), is_qualified=True, owner__isnull=False)
        .exclude(pk__in=answered)
        .select_related("owner")
        .order_by("pk")
    )
    recorded = 0
    shares = _buying_shares(list(handed.values_list("pk", flat=True)))
    # One service call per handed-over lead, as reps give them; a demo has a few hundred.
    for lead in handed.iterator(chunk_size=500):
        # Seeded per lead, so a lead skipped once is skipped on every run.
        rng = random.Random(f"{seed}-{lead.pk}")
        if rng.random() >= ANSWERED_SHARE:
            continue
        answer = _answer(rng, personas[lead.pk], shares.get(lead.pk, 0.0))
        feedback_record(lead=lead, rep=lead.owner, changes=answer)
        if answer["reason"] == "competitor":
            # A competitor is no buyer whatever the score: the rep takes the lead out of the funnel.
            lead_disqualify(lead=lead, reason="Works for a competitor", by=lead.owner)
        recorded += 1
    return recorded


def _buying_shares(lead_ids: list[int]) -> dict[int, float]:
    """Each lead's share of buying actions among its events (one grouped query)."""
    on_sales_page = Q(type="page_view") & functools.reduce(
        operator.or_, (Q(url__endswith=path) for path in SALES_PAGES)
    )
    rows = (
        Event.objects.filter(lead_id__in=lead_ids)
        .values("lead_id")
        .annotate(events=Count("id"), buying=Count("id", filter=Q(type__in=BUYING_TYPES) | on_sales_page))
    )
    return {row["lead_id"]: row["buying"] / row["events"] for row in rows}


def yes_chance(persona: str, buying_share: float) -> float:
    base = SALES_ODDS.get(persona, SALES_ODDS["cold"])[0]
    if base == 0:
        return 0.0  # no call makes a job seeker a buyer
    return min(0.95, max(0.05, base + INTENT_WEIGHT * (buying_share - TYPICAL_SHARE)))


def _answer(rng: random.Random, persona: str, buying_share: float) -> dict:
    _, opportunity, won, lost = SALES_ODDS.get(persona, SALES_ODDS["cold"])
    if rng.random() < yes_chance(persona, buying_share):
        roll, outcome = rng.random(), ""
        if roll < won:
            outcome = "won"
        elif roll < won + opportunity:
            outcome = "opportunity"
        elif roll < won + opportunity + lost:
            outcome = "lost"
        return {
            "really_sales_ready": True,
            "reason": "good_fit",
            "outcome": outcome,
            "note": rng.choice(YES_NOTES),
            "good_actions_note": rng.choice(GOOD_ACTIONS) if rng.random() < 0.4 else "",
        }
    reason = PERSONA_REASONS.get(persona) or rng.choice(NOT_READY_REASONS)
    return {"really_sales_ready": False, "reason": reason, "note": rng.choice(NO_NOTES)}


def load_demo_review(*, by) -> bool:
    """The first quarterly review, completed by the marketer on today's checklist (§7); once."""
    from models_review.forms import REVIEW_QUESTIONS
    from models_review.models import Review
    from models_review.selectors import review_checklist

    if Review.objects.exists():
        return False
    version = active_version()
    answers = {name: "yes" for name, _ in REVIEW_QUESTIONS}
    answers["actions_reviewed"] = "no"  # the notes say what to change next
    review_complete(
        version=version,
        by=by,
        answers=answers,
        notes="Reps agree with most hand-overs. Webinar attendance shows up in good leads: "
        "consider more points for it in the next draft.",
        figures=review_checklist(version=version).figures(),
    )
    return True
