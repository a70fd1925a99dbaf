"""The read API (§10), marketer Bearer token: what a CRM or a script needs about a lead or an
account, with the score decayed to the moment of the request."""

from __future__ import annotations

from datetime import datetime
from functools import wraps

from django.http import JsonResponse
from django.utils import timezone

from leads.api.responses import api_methods, error
from leads.engine import accounts as accounts_engine
from leads.engine import scoring
from leads.ingest import credentials
from leads.ingest.validation import InvalidValue, check_text
from leads.models import Account, Lead, StageChange
from leads.services import active_version, spec_for
from leads.workspace.selectors import AccountMember, account_why, lead_contributions, lead_score_now

TOP_CONTRIBUTORS = 5
MEMBERS_LISTED = 100


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _round(value: float) -> float:
    return round(float(value), 6)


def lead_document(*, lead: Lead, as_of: datetime | None = None) -> dict:
    as_of = as_of or timezone.now()
    spec = spec_for(active_version())
    contributions, replayed_score = lead_contributions(lead=lead, as_of=as_of)
    return {
        "email": lead.email,
        "user_id": lead.user_id,
        "name": lead.name,
        "title": lead.title,
        "score": _round(lead_score_now(lead=lead, as_of=as_of)),
        "score_as_of": as_of.isoformat(),
        "sales_ready_score": spec.sales_ready_score,
        "stage": lead.stage,
        "stage_label": lead.stage_label,
        "is_cold": lead.is_cold,
        "is_qualified": lead.is_qualified,
        "last_engaged_at": _iso(lead.last_engaged_at),
        # From the nightly learning job (§11); null until a validated run has scored the lead.
        "likelihood": lead.likelihood,
        "likelihood_factors": lead.likelihood_factors if lead.likelihood is not None else [],
        "likelihood_at": _iso(lead.likelihood_at),
        "product_scores": _product_scores_now(lead, spec, as_of),
        "account": _account_summary(lead.account),
        "contributions": [_contribution(line) for line in contributions],
        "contributions_total": _round(replayed_score),
        "recalculations": _recalculations(lead),
    }


def _product_scores_now(lead: Lead, spec: scoring.ModelSpec, as_of: datetime) -> dict[str, float]:
    scores = {}
    for ps in lead.product_scores.select_related("product_line").order_by("product_line__name"):
        state = scoring.ScoreState(ps.score, ps.scored_at, ps.last_engaged_at)
        scores[ps.product_line.name] = _round(
            scoring.advance(state, max(as_of, ps.scored_at or as_of), spec.decay, 0.0).score
        )
    return scores


def _account_summary(account: Account | None) -> dict | None:
    if account is None:
        return None
    return {
        "domain": account.domain,
        "name": account.name,
        "score": _round(account.score),
        "is_sales_ready": account.is_sales_ready,
    }


def _contribution(line) -> dict:
    event = line.event
    return {
        "at": line.at.isoformat(),
        "kind": line.kind,
        "points": _round(line.delta),
        "score_after": _round(line.score_after),
        "rule": line.rule,
        "event": None
        if event is None
        else {
            "id": event.pk,
            "type": event.type,
            "name": event.name,
            "url": event.url,
            "campaign": event.campaign,
            "source": event.source,
        },
    }


def _recalculations(lead: Lead) -> list[dict]:
    # Events and ticks above are replayed under the active version; these say when a
    # version change recalculated the lead and where it moved.
    changes = lead.stage_changes.filter(reason=StageChange.Reason.RECALCULATION).select_related("version")
    return [
        {
            "at": c.at.isoformat(),
            "from_stage": c.from_stage,
            "to_stage": c.to_stage,
            "version": c.version.number if c.version else None,
        }
        for c in changes.order_by("at", "id")
    ]


def account_document(*, account: Account, as_of: datetime | None = None) -> dict:
    """The account score as the roll-up stored it, and `score_now`: the same rule (§4) over
    the members' scores decayed to the request (when the account is small enough to list)."""
    as_of = as_of or timezone.now()
    spec = spec_for(active_version())
    why = account_why(account=account, as_of=as_of, limit=MEMBERS_LISTED)
    member_rows = [_member(m, spec, as_of) for m in why.members]
    now = accounts_engine.account_score(
        [
            accounts_engine.Member(row["score"], m.lead.last_engaged_at)
            for row, m in zip(member_rows, why.members)
        ],
        as_of=as_of,
        engagement_days=spec.engagement_days,
        threshold=spec.account_sales_ready_score,
        min_engaged=spec.account_min_engaged,
    )
    complete = account.member_count <= MEMBERS_LISTED
    return {
        "domain": account.domain,
        "name": account.name,
        "score": _round(account.score),
        "score_updated_at": _iso(account.score_updated_at),
        "score_now": _round(now.score) if complete else None,
        "threshold": spec.account_sales_ready_score,
        "engagement_days": spec.engagement_days,
        "account_min_engaged": spec.account_min_engaged,
        "is_sales_ready": account.is_sales_ready,
        "sales_ready_reason": why.ready_reason,
        "member_count": account.member_count,
        "engaged_members": account.engaged_members,
        "top_contributors": [_member(m, spec, as_of) for m in why.top_contributors[:TOP_CONTRIBUTORS]],
        "buying_roles": [
            {"role": c.role, "keywords": list(c.keywords), "engaged_members": c.engaged, "members": c.members}
            for c in why.coverage
        ],
        "members": member_rows,
        "members_listed": len(member_rows),
    }


def _member(member: AccountMember, spec: scoring.ModelSpec, as_of: datetime) -> dict:
    lead = member.lead
    state = scoring.ScoreState(lead.score, lead.scored_at, lead.last_engaged_at)
    score_now = scoring.advance(state, max(as_of, lead.scored_at or as_of), spec.decay, spec.floor).score
    return {
        "email": lead.email,
        "user_id": lead.user_id,
        "name": lead.name,
        "title": lead.title,
        "buying_role": member.role,
        "stage": lead.stage,
        "stage_label": lead.stage_label,
        "score": _round(score_now),
        "last_engaged_at": _iso(lead.last_engaged_at),
        "counts": member.counts,
        "why": member.why,
    }


def _storable(text: str) -> bool:
    # A URL can carry %00 or a lone surrogate; no stored email or domain holds one.
    try:
        check_text(text, "url")
    except InvalidValue:
        return False
    return True


def marketer_token_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        scheme, _, secret = request.headers.get("Authorization", "").partition(" ")
        user = credentials.api_token_user(secret.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            response = error(
                "Send a marketer's API token as “Authorization: Bearer <token>”.",
                status=401,
                code="unauthorized",
            )
            response["WWW-Authenticate"] = 'Bearer realm="leadscore"'
            return response
        if not credentials.api_token_is_for_marketer(user):
            return error("This token's user is not a marketer.", status=403, code="forbidden")
        return view(request, *args, **kwargs)

    return wrapper


@api_methods("GET", "HEAD")
@marketer_token_required
def lead_detail(request, email):
    lead = None
    if _storable(email):
        lead = Lead.objects.select_related("account").filter(email=email.strip().lower()).first()
    if lead is None:
        return error(f"No lead with email {email!r}.", status=404, code="not_found", field="email")
    return JsonResponse(lead_document(lead=lead))


@api_methods("GET", "HEAD")
@marketer_token_required
def account_detail(request, domain):
    account = None
    if _storable(domain):
        account = Account.objects.filter(domain=domain.strip().lower()).first()
    if account is None:
        return error(f"No account with domain {domain!r}.", status=404, code="not_found", field="domain")
    return JsonResponse(account_document(account=account))
