"""Writes on lead records and their score state. Each public service is one transaction.

The score arithmetic lives in `leads.engine`; these functions load its inputs from the
database and store its outputs. Events come in through `leads.ingest.events`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Count, FloatField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from leads.db.rows import LeadRow, lead_states_update, leads_appeared_at_lower
from leads.engine import scoring
from leads.engine.accounts import engaged_since, keywords_parse
from leads.engine.state import cold_after_engagement, lead_state, settle, stage_after_replay, state_memory
from leads.ingest.assets import AssetCatalog
from leads.models import Account, BuyingRole, Event, Lead, ProductLine, ProductScore, StageChange
from leads.roles import SALES_REPS

# --- the active model -----------------------------------------------------------------------

_spec_cache: dict[tuple, scoring.ModelSpec] = {}


def active_version():
    ModelVersion = apps.get_model("models_review", "ModelVersion")
    version = ModelVersion.objects.filter(is_active=True).select_related("scoring_model").first()
    if version is None:
        raise LookupError(
            "No scoring model version is active. Run `manage.py model_import` or `manage.py start`."
        )
    return version


def spec_for(version) -> scoring.ModelSpec:
    # Published versions never change, so their spec can live for the whole process.
    if not version.is_published:
        return version.spec()
    # The publish instant guards against a reused primary key (a restored or flushed database).
    key = (version.pk, version.published_at)
    if key not in _spec_cache:
        _spec_cache[key] = version.spec()
    return _spec_cache[key]


# --- leads and accounts ---------------------------------------------------------------------


class IdentityConflict(ValueError):
    """A write that would move one person's identity onto another lead or account."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def lead_upsert(
    *,
    email: str | None = None,
    user_id: str | None = None,
    name: str | None = None,
    title: str | None = None,
    account: Account | None = None,
) -> Lead:
    """Find a lead by userId, then email; create it if neither is known. Given fields overwrite.

    An email that belongs to a lead with another userId (or to another lead than the one the
    userId names) is an IdentityConflict: it never moves that lead to the new userId."""
    if not email and not user_id:
        raise ValueError("A lead needs an email or a user id.")
    email = email.strip().lower() if email else None
    by_user = Lead.objects.filter(user_id=user_id).first() if user_id else None
    by_email = Lead.objects.filter(email=email).first() if email else None
    if by_email is not None and user_id and by_email.user_id not in (None, "", user_id):
        raise IdentityConflict("email", "this email already belongs to another lead (different userId)")
    if by_user is not None and by_email is not None and by_user.pk != by_email.pk:
        raise IdentityConflict("email", "this email already belongs to another lead")
    lead = by_user or by_email or Lead(email=email, user_id=user_id or None)
    changes = {"email": email, "user_id": user_id, "name": name, "title": title, "account": account}
    for attribute, value in changes.items():
        if value not in (None, ""):
            setattr(lead, attribute, value)
    try:
        with transaction.atomic():
            lead.save()
    except IntegrityError:  # a concurrent call took the email or userId first
        raise IdentityConflict("email", "this email already belongs to another lead") from None
    return lead


def account_upsert(*, domain: str, name: str = "", group_id: str = "") -> Account:
    """The account of a domain, created if new. Only the account's own group (or the first
    group to claim it) renames it: a call naming another groupId links to it unchanged."""
    domain = domain.strip().lower()
    if not domain:
        raise ValueError("domain: an account needs a domain.")
    account, created = Account.objects.get_or_create(
        domain=domain, defaults={"name": name or domain, "group_id": group_id}
    )
    if created or not group_id or account.group_id not in ("", group_id):
        return account
    if (name and account.name != name) or account.group_id != group_id:
        account.name = name or account.name
        account.group_id = group_id
        account.save(update_fields=["name", "group_id"])
    return account


def accounts_rollup(*, account_ids: Iterable[int] | None = None, as_of: datetime | None = None) -> int:
    """Account score of §4 in UPDATE statements, for all accounts or just the given ones: the
    sum of the scores of members engaged in the engagement window, members, engaged members
    and the sales-ready flag (threshold and `account_min_engaged`). Equal to
    `leads.engine.accounts.account_score`, which the tests hold it to."""
    as_of = as_of or timezone.now()
    spec = spec_for(active_version())
    since = engaged_since(as_of, spec.engagement_days)
    accounts = (
        Account.objects.all() if account_ids is None else Account.objects.filter(pk__in=set(account_ids))
    )
    members = Lead.objects.filter(account=OuterRef("pk")).order_by().values("account")
    engaged = members.filter(last_engaged_at__gte=since)
    with transaction.atomic():
        updated = accounts.update(
            score=Coalesce(
                Subquery(engaged.annotate(total=Sum("score")).values("total")),
                Value(0.0),
                output_field=FloatField(),
            ),
            member_count=Coalesce(Subquery(members.annotate(n=Count("id")).values("n")), Value(0)),
            engaged_members=Coalesce(Subquery(engaged.annotate(n=Count("id")).values("n")), Value(0)),
            score_updated_at=as_of,
        )
        ready = Q(score__gte=spec.account_sales_ready_score, engaged_members__gte=spec.account_min_engaged)
        accounts.filter(ready, is_sales_ready=False).update(is_sales_ready=True)
        accounts.filter(~ready, is_sales_ready=True).update(is_sales_ready=False)
    return updated


def lead_set_stage(*, lead: Lead, stage: int, by=None, note: str = "") -> None:
    """Reps and CRMs move leads into the sales-owned stages (§5)."""
    with transaction.atomic():
        lead = Lead.objects.select_for_update().get(pk=lead.pk)
        if lead.stage == stage:
            return
        now = timezone.now()
        StageChange.objects.create(
            lead=lead,
            from_stage=lead.stage,
            to_stage=stage,
            at=now,
            reason=StageChange.Reason.MANUAL,
            note=note[:300] or getattr(by, "username", ""),
        )
        lead.stage, lead.stage_changed_at = stage, now
        lead.save(update_fields=["stage", "stage_changed_at", "updated_at"])


class LeadActionError(ValueError):
    """A change a person asked for on leads that cannot be made; names the field."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


DISQUALIFY_REASON_MAX = 200


def lead_disqualify(*, lead: Lead, reason: str, by) -> None:
    """The owning rep or a marketer takes a lead out of the funnel; the reason goes into the stage log."""
    reason = " ".join(reason.replace("\x00", "").split())  # PostgreSQL refuses NUL in text
    if not reason:
        raise LeadActionError("reason", "say why the lead is disqualified")
    if len(reason) > DISQUALIFY_REASON_MAX:
        raise LeadActionError("reason", f"must be at most {DISQUALIFY_REASON_MAX} characters")
    if lead.stage == scoring.DISQUALIFIED:
        raise LeadActionError("stage", "the lead is already disqualified")
    lead_set_stage(lead=lead, stage=scoring.DISQUALIFIED, by=by, note=f"{by.get_username()}: {reason}")


def leads_owner_assign(*, lead_ids: list[int], owner) -> int:
    """Hand many leads to one rep in one statement; returns how many changed owner."""
    if owner is None or not owner.groups.filter(name=SALES_REPS).exists():
        raise LeadActionError("owner", "choose a sales rep")
    with transaction.atomic():
        return (
            Lead.objects.filter(pk__in=lead_ids)
            .exclude(owner=owner)
            .update(owner=owner, updated_at=timezone.now())
        )


# --- loading and storing engine state ---------------------------------------------------


# Lead and LeadRow alike: both carry these attribute names.
ScoredLead = Lead | LeadRow


def engine_inputs(events: Iterable[Event], catalog: AssetCatalog) -> list[scoring.EventInput]:
    return [engine_input(event, catalog) for event in events]


def engine_input(event: Event, catalog: AssetCatalog) -> scoring.EventInput:
    info = catalog.event_asset(event.type, event.asset_key, event.url)
    return scoring.EventInput(
        occurred_at=event.occurred_at,
        type=event.type,
        name=event.name,
        url=event.url,
        asset_key=event.asset_key or None,
        asset_sales_ready=info.sales_ready,
        product_line=info.product_line,
        target_stage=info.target_stage,
        percent=event.percent,
        manual_points=event.manual_points,
        ref=event.pk,
    )


def load_state(lead: ScoredLead, product_scores: Iterable[ProductScore]) -> scoring.LeadState:
    return lead_state(
        sales=scoring.ScoreState(lead.score, lead.scored_at, lead.last_engaged_at),
        products={
            ps.product_line.name: scoring.ScoreState(ps.score, ps.scored_at, ps.last_engaged_at)
            for ps in product_scores
        },
        stage=lead.stage,
        memory=lead.engine_state,
    )


def store_state(
    lead: Lead,
    state: scoring.LeadState,
    version,
    *,
    changes: Sequence[StageChange] = (),
    product_lines: dict[str, ProductLine] | None = None,
) -> None:
    existing = list(ProductScore.objects.filter(lead=lead).select_related("product_line"))
    states_store(
        [(lead, state, list(changes))],
        version,
        product_lines=product_lines,
        product_scores={lead.pk: existing},
    )


def states_store(
    writes: Sequence[tuple[ScoredLead, scoring.LeadState, list[StageChange]]],
    version,
    *,
    product_lines: dict[str, ProductLine] | None = None,
    product_scores: dict[int, list[ProductScore]],
) -> None:
    """Persist many leads' engine states in a handful of queries (the ingest hot path).

    `product_scores` are each lead's existing rows, read under the same row locks."""
    if not writes:
        return
    now = timezone.now()
    for lead, state, changes in writes:
        _state_onto_lead(lead, state, version, changes, now)
    lead_states_update([lead for lead, _, _ in writes])
    StageChange.objects.bulk_create(
        [change for _, _, changes in writes for change in changes], batch_size=500
    )
    _store_product_scores(writes, product_lines if product_lines is not None else {}, product_scores)


def _state_onto_lead(
    lead: ScoredLead, state: scoring.LeadState, version, changes: Sequence[StageChange], now: datetime
) -> None:
    engaged_again = state.sales.last_engaged_at != lead.last_engaged_at
    lead.score = state.sales.score
    lead.scored_at = max(
        filter(None, [state.sales.scored_at, *(p.scored_at for p in state.products.values())]), default=None
    )
    lead.last_engaged_at = state.sales.last_engaged_at
    lead.engine_state = state_memory(state)
    lead.scored_with_id = version.pk
    lead.updated_at = now
    if lead.stage != state.stage:
        lead.stage = state.stage
        lead.stage_changed_at = changes[-1].at if changes else lead.scored_at
    lead.is_cold, lead.cold_since = cold_after_engagement(
        engaged_again=engaged_again, is_cold=lead.is_cold, cold_since=lead.cold_since
    )


def _store_product_scores(
    writes, product_lines: dict[str, ProductLine], product_scores: dict[int, list[ProductScore]]
) -> None:
    missing = {name for _, state, _ in writes for name in state.products if name not in product_lines}
    if missing:
        product_lines.update({pl.name: pl for pl in ProductLine.objects.filter(name__in=missing)})
    rows, stale = [], []
    for lead, state, _ in writes:
        rows += [
            ProductScore(
                lead_id=lead.pk,
                product_line=product_lines[name],
                score=s.score,
                scored_at=s.scored_at,
                last_engaged_at=s.last_engaged_at,
            )
            for name, s in state.products.items()
            if name in product_lines
        ]
        stale += [
            ps.pk for ps in product_scores.get(lead.pk, ()) if ps.product_line.name not in state.products
        ]
    if rows:
        ProductScore.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["lead", "product_line"],
            update_fields=["score", "scored_at", "last_engaged_at"],
            batch_size=500,
        )
    if stale:
        ProductScore.objects.filter(pk__in=stale).delete()


# --- replay ---------------------------------------------------------------------------------


def lead_events(lead: Lead):
    return Event.objects.filter(lead=lead).order_by("occurred_at", "id")


def lead_replay(
    *,
    lead: Lead,
    version=None,
    reason: str = StageChange.Reason.RECALCULATION,
    trigger: Event | None = None,
    now: datetime | None = None,
    catalog: AssetCatalog | None = None,
) -> None:
    """Recompute one lead from all its events (§3). Logs one stage change if the stage moved."""
    version = version or active_version()
    catalog, now = catalog or AssetCatalog.load(), now or timezone.now()
    events = list(lead_events(lead))
    state, changes = replayed_state(lead, events, version, catalog, now, reason, trigger)
    store_state(lead, state, version, changes=changes)
    if events:  # events joined from an anonymous history may predate the lead
        leads_appeared_at_lower({lead.pk: events[0].occurred_at})


def replayed_state(
    lead: ScoredLead,
    events: list[Event],
    version,
    catalog: AssetCatalog,
    now: datetime,
    reason: str,
    trigger=None,
) -> tuple[scoring.LeadState, list[StageChange]]:
    """A lead's state replayed from `events` and the stage change it makes, if any.

    `trigger` is the stored or incoming event that caused the replay (its id and campaign
    go on the stage change)."""
    spec = spec_for(version)
    state, _ = scoring.replay(engine_inputs(events, catalog), spec)
    settle(state, max(now, state.sales.scored_at or now), spec)
    state.stage = stage_after_replay(lead.stage, state.stage)
    if state.stage == lead.stage:
        return state, []
    return state, [
        StageChange(
            lead_id=lead.pk,
            from_stage=lead.stage,
            to_stage=state.stage,
            at=now,
            reason=reason,
            event_id=trigger.pk if trigger else None,
            campaign=trigger.campaign if trigger else "",
            version=version,
        )
    ]


# --- buying roles (§4) ----------------------------------------------------------------------

DEFAULT_BUYING_ROLES = (
    (
        "Decision maker",
        "chief, ceo, cfo, cto, cmo, coo, cio, founder, owner, president, vp, vice president, head, director",
    ),
    ("Influencer", "manager, lead, architect, principal, senior, consultant, advisor"),
    ("User", "analyst, engineer, developer, specialist, coordinator, associate, administrator"),
)


class BuyingRoleError(ValueError):
    """Refused: the message names the field at fault."""


def buying_roles_update(*, keywords: dict[int, str]) -> None:
    """Replace the title keywords of the given roles (by id); unknown ids are refused."""
    roles = {role.pk: role for role in BuyingRole.objects.filter(pk__in=keywords)}
    for pk, text in keywords.items():
        if pk not in roles:
            raise BuyingRoleError(f"role-{pk}: no such buying role")
        if len(text) > 2000:
            raise BuyingRoleError(f"{roles[pk].name}: at most 2,000 characters of keywords")
    with transaction.atomic():
        for pk, text in keywords.items():
            roles[pk].keywords = ", ".join(keywords_parse(text))
            roles[pk].save(update_fields=["keywords"])


def buying_roles_ensure() -> int:
    """The default roles on a new install (also created by migration); existing ones kept."""
    created = 0
    for position, (name, keywords) in enumerate(DEFAULT_BUYING_ROLES):
        _, made = BuyingRole.objects.get_or_create(
            name=name, defaults={"keywords": keywords, "position": position}
        )
        created += made
    return created
