"""What each lead did, as numbers a logistic regression can weigh (§11).

A feature is either a rule of the active version or a kind of activity no rule scores yet
(a custom event name, an asset, a product line, an event type). A lead's value for a rule
is how much of it the engine would count: one per matched event, the rule's daily cap
applied, videos by the fraction watched (a full video is 1, half a video 0.5). Only events
in the WINDOW before the label instant count (before now, for the likelihood): what a
lead did in the 90 days before sales judged it."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from leads.engine import scoring
from leads.ingest.assets import AssetCatalog
from leads.models import Event
from leads.services import engine_input

WINDOW = timedelta(days=90)
RULE_KEYS = ("url_pattern", "event_name", "asset", "asset_flag", "product_line")
# Activity no rule scores becomes a candidate rule only when enough labelled leads did it.
CANDIDATE_MIN_LEADS = 10
CANDIDATES_KEPT = 25
EVENT_FIELDS = ("id", "lead_id", "type", "name", "url", "asset_key", "occurred_at", "properties")


@dataclass(frozen=True)
class Feature:
    key: str
    rule: dict  # §2a identifying keys: event_type plus at most the keys that name a target
    rule_index: int | None = None  # position in the active version's rules; None for a new rule
    points: float | None = None  # the rule's points now; None for a new rule

    @property
    def label(self) -> str:
        target = next((self.rule[key] for key in RULE_KEYS if self.rule.get(key)), "")
        return f"{self.rule['event_type']}{' ' + str(target) if target else ''}"


def rule_key(rule: dict) -> str:
    parts = [rule["event_type"]] + [f"{key}={rule[key]}" for key in RULE_KEYS if rule.get(key)]
    return "|".join(parts)


def rule_features(spec: scoring.ModelSpec) -> list[Feature]:
    features = []
    for index, rule in enumerate(spec.rules):
        identity = {"event_type": rule.event_type}
        identity.update({key: getattr(rule, key) for key in RULE_KEYS if getattr(rule, key)})
        # Two rules may name the same thing; the index keeps their features apart.
        features.append(Feature(f"rule:{index}:{rule_key(identity)}", identity, index, rule.points))
    return features


def unit_spec(spec: scoring.ModelSpec) -> scoring.ModelSpec:
    """The version with every rule worth 1 point: the engine then counts units for us,
    with the same matching, caps and video arithmetic as the score."""
    return scoring.with_rules(spec, (replace(rule, points=1.0) for rule in spec.rules))


def candidate_rule(event: scoring.EventInput) -> dict | None:
    """The most specific rule that would catch an event no rule scores."""
    if event.type == "manual":
        return None
    if event.type == "custom":
        return {"event_type": "custom", "event_name": event.name} if event.name else None
    if event.asset_key:
        return {"event_type": event.type, "asset": event.asset_key}
    if event.product_line:
        return {"event_type": event.type, "product_line": event.product_line}
    if event.type == "page_view":
        return None  # a type-only page-view rule scores only sales-ready pages, which a rule already names
    return {"event_type": event.type}


def lead_units(
    inputs: Iterable[scoring.EventInput], spec: scoring.ModelSpec, *, until: datetime, window=WINDOW
) -> dict[str, float]:
    """Units per feature key for one lead's events (sorted by time) in [until − window, until).
    `spec` is unit_spec(version spec); rule features are keyed as rule_features() keys them."""
    keys = [feature.key for feature in rule_features(spec)]
    state, units = scoring.LeadState(), {}
    candidate_video_max: dict[str, float] = {}
    since = until - window
    for event in inputs:
        if event.occurred_at >= until:
            break
        if event.occurred_at < since:
            continue
        amount, index = scoring.event_points(state, event, spec)
        if index is not None:
            if amount:
                units[keys[index]] = units.get(keys[index], 0.0) + amount
            continue
        rule = candidate_rule(event)
        if rule is None:
            continue
        key = "new:" + rule_key(rule)
        if event.type == "video_play":
            # Like the score: a video counts by the highest share watched, not by replays.
            percent = min(max(event.percent or 0.0, 0.0), 100.0) / 100
            video = event.asset_key or event.url or event.name
            amount = max(0.0, percent - candidate_video_max.get(video, 0.0))
            candidate_video_max[video] = max(percent, candidate_video_max.get(video, 0.0))
        else:
            amount = 1.0
        if amount:
            units[key] = units.get(key, 0.0) + amount
    return units


def candidate_features(rows: Iterable[dict[str, float]]) -> list[Feature]:
    """New-rule features done by at least CANDIDATE_MIN_LEADS labelled leads, the most common first."""
    leads_doing: dict[str, int] = {}
    for units in rows:
        for key in units:
            if key.startswith("new:"):
                leads_doing[key] = leads_doing.get(key, 0) + 1
    kept = sorted(
        (key for key, count in leads_doing.items() if count >= CANDIDATE_MIN_LEADS),
        key=lambda key: (-leads_doing[key], key),
    )[:CANDIDATES_KEPT]
    return [Feature(key, _rule_from_key(key.removeprefix("new:"))) for key in kept]


def _rule_from_key(key: str) -> dict:
    event_type, *parts = key.split("|")
    rule = {"event_type": event_type}
    for part in parts:
        name, _, value = part.partition("=")
        rule[name] = value
    return rule


def stream_units(
    lead_ids: list[int], *, until: dict[int, datetime], spec: scoring.ModelSpec, catalog: AssetCatalog
) -> Iterator[tuple[int, dict[str, float]]]:
    """(lead id, units) for each of `lead_ids` (one chunk), reading only the events of the
    window before each lead's instant, streamed from the database in (lead, time) order."""
    if not lead_ids:
        return
    earliest = min(until[lead_id] for lead_id in lead_ids) - WINDOW
    latest = max(until[lead_id] for lead_id in lead_ids)
    events = (
        Event.objects.filter(lead_id__in=lead_ids, occurred_at__gte=earliest, occurred_at__lt=latest)
        .order_by("lead_id", "occurred_at", "id")
        .only(*EVENT_FIELDS)
    )
    seen = set()
    for lead_id, rows in itertools.groupby(events.iterator(chunk_size=2000), key=lambda e: e.lead_id):
        seen.add(lead_id)
        inputs = (engine_input(event, catalog) for event in rows)
        yield lead_id, lead_units(inputs, spec, until=until[lead_id])
    for lead_id in lead_ids:
        if lead_id not in seen:
            yield lead_id, {}
