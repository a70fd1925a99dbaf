"""Reads that are more than one filter()."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from leads import scoring
from leads.assets import AssetCatalog
from leads.models import Event, Lead, Stage
from leads.roles import visible_leads
from leads.services import active_version, engine_inputs, lead_events, spec_for


@dataclass(frozen=True)
class StageCount:
    stage: int
    label: str
    count: int
    percent: float


def stage_counts(*, leads=None) -> list[StageCount]:
    leads = Lead.objects.all() if leads is None else leads
    counts = dict(leads.values_list("stage").annotate(n=Count("id")).order_by())
    total = sum(counts.values())
    return [
        StageCount(stage.value, stage.label, counts.get(stage.value, 0),
                   100.0 * counts.get(stage.value, 0) / total if total else 0.0)
        for stage in Stage
    ]


def top_leads(*, user, limit: int = 10):
    return visible_leads(user, Lead.objects.select_related("account", "owner")).order_by("-score", "id")[:limit]


def recent_events(*, user, limit: int = 15):
    lead_ids = visible_leads(user, Lead.objects.all()).values("id")
    return Event.objects.filter(lead__in=lead_ids).select_related("lead").order_by("-occurred_at", "-id")[:limit]


@dataclass(frozen=True)
class ContributionLine:
    at: datetime
    kind: str
    delta: float
    score_after: float
    event: Event | None
    rule: str


def lead_contributions(*, lead: Lead, as_of: datetime | None = None) -> tuple[list[ContributionLine], float]:
    """"Why this score": every event's points and decay tick under the active version (§3)."""
    as_of = as_of or timezone.now()
    version = active_version()
    spec = spec_for(version)
    events = list(lead_events(lead))
    by_id = {event.pk: event for event in events}
    state, outcome = scoring.replay(engine_inputs(events, AssetCatalog.load()), spec, as_of=max(as_of, lead.scored_at or as_of))
    lines = [
        ContributionLine(c.at, c.kind, c.delta, c.score_after, by_id.get(c.ref),
                         _rule_label(spec, c.rule_index, by_id.get(c.ref)))
        for c in outcome.contributions
    ]
    return lines, state.sales.score


def _rule_label(spec: scoring.ModelSpec, index: int | None, event: Event | None) -> str:
    if event is not None and event.type == "manual":
        return f"Manual: {event.properties.get('reason', '')}"
    if index is None:
        return "No rule matched" if event is not None else "Decay tick"
    rule = spec.rules[index]
    target = rule.url_pattern or rule.event_name or rule.asset or rule.asset_flag or rule.product_line or ""
    return f"{rule.event_type}{' · ' + target if target else ''} ({rule.points:g})"


def lead_score_now(*, lead: Lead, as_of: datetime | None = None) -> float:
    """The stored score advanced to now: decay between materialisations is never stale on screen."""
    spec = spec_for(active_version())
    state = scoring.ScoreState(lead.score, lead.scored_at, lead.last_engaged_at)
    as_of = as_of or timezone.now()
    return scoring.advance(state, max(as_of, lead.scored_at or as_of), spec.decay, spec.floor).score
