"""The labels learning uses (§11): a rep's "really sales-ready" (yes positive, no negative)
and outcomes (opportunity or won positive, lost negative), from the app and from imports.

One label per lead, the latest: a lead judged twice is judged by what was known last. When a
row gives both an outcome and a verdict, the outcome decides (it is what happened)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models_review.models import OutcomeLabel, SalesFeedback

POSITIVE_OUTCOMES = ("opportunity", "won")


@dataclass(frozen=True)
class Label:
    lead_id: int
    at: datetime
    positive: bool


def label_value(really_sales_ready: bool | None, outcome: str) -> bool | None:
    if outcome:
        return outcome in POSITIVE_OUTCOMES
    return really_sales_ready


def latest_labels(*, after_id: int | None = None, last_id: int | None = None) -> dict[int, Label]:
    """The latest label per lead, optionally only for leads with ids in (after_id, last_id]."""
    latest: dict[int, Label] = {}
    feedback = in_lead_range(SalesFeedback.objects, after_id, last_id).values_list(
        "lead_id", "updated_at", "really_sales_ready", "outcome"
    )
    imported = in_lead_range(OutcomeLabel.objects, after_id, last_id).values_list(
        "lead_id", "at", "really_sales_ready", "outcome"
    )
    for rows in (feedback, imported):
        for lead_id, at, really, outcome in rows.iterator(chunk_size=5000):
            value = label_value(really, outcome)
            if value is None:
                continue
            if lead_id not in latest or at >= latest[lead_id].at:
                latest[lead_id] = Label(lead_id, at, value)
    return latest


def in_lead_range(rows, after_id: int | None, last_id: int | None):
    """`rows` (anything with a lead) of the leads with ids in (after_id, last_id]; None is open."""
    if after_id is not None:
        rows = rows.filter(lead_id__gt=after_id)
    if last_id is not None:
        rows = rows.filter(lead_id__lte=last_id)
    return rows


def label_order(label: Label) -> tuple[datetime, int]:
    """The order training sorts labels in: its holdout is everything from a point in it on."""
    return (label.at, label.lead_id)


def holdout_boundary(first_held_out: Label) -> dict:
    """Where a run's holdout starts in label order, stored with the run (JSON)."""
    return {"at": first_held_out.at.isoformat(), "lead_id": first_held_out.lead_id}


def held_out(label: Label, boundary: dict) -> bool:
    """Whether `label` lies at or after a run's holdout boundary: the run did not train on it
    (labels given after the run are later still, so they count as not trained on too)."""
    return label_order(label) >= (datetime.fromisoformat(boundary["at"]), boundary["lead_id"])
