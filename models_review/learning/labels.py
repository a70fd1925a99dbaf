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


def latest_labels() -> dict[int, Label]:
    latest: dict[int, Label] = {}
    feedback = SalesFeedback.objects.values_list("lead_id", "updated_at", "really_sales_ready", "outcome")
    imported = OutcomeLabel.objects.values_list("lead_id", "at", "really_sales_ready", "outcome")
    for rows in (feedback, imported):
        for lead_id, at, really, outcome in rows.iterator(chunk_size=5000):
            value = label_value(really, outcome)
            if value is None:
                continue
            if lead_id not in latest or at >= latest[lead_id].at:
                latest[lead_id] = Label(lead_id, at, value)
    return latest
