"""From learned weights to points a marketer can publish (§11).

Scaling, so that T keeps its meaning ("the total a lead typically reaches when ready to talk
to sales"): the weights (log-odds per unit) are multiplied by one factor k, chosen so that the
median positively labelled lead of the training set, counting what it did in the 90 days
before its label, totals exactly T under the suggested points. Suggested points are that
product, rounded to whole points. Decay is left out of the total: it is the same for every
rule, so it does not change which rule is worth more."""

from __future__ import annotations

import statistics

from models_review.learning.features import Feature
from models_review.learning.model import Fit

SCALING_TEXT = (
    "Suggested points = learned weight × k, with k chosen so that the median lead sales rated "
    "positive (training labels, activity in the 90 days before its label) totals exactly T."
)
NEW_RULE_MINIMUM_POINTS = 1


def scale_factor(fit: Fit, train_rows: list[dict[str, float]], train_positives: list[bool], T: float):
    totals = [
        sum(fit.weights.get(key, 0.0) * amount for key, amount in units.items())
        for units, positive in zip(train_rows, train_positives)
        if positive
    ]
    if not totals:
        return None
    median = statistics.median(totals)
    return T / median if median > 0 else None


def evidence(key: str, rows: list[dict[str, float]], positives: list[bool]) -> dict:
    """How many labelled leads did it, and the positive rate of those who did and did not."""
    did = [positive for units, positive in zip(rows, positives) if units.get(key, 0) > 0]
    did_not = [positive for units, positive in zip(rows, positives) if units.get(key, 0) <= 0]
    return {
        "leads_with": len(did),
        "positive_rate_with": round(sum(did) / len(did), 4) if did else None,
        "positive_rate_without": round(sum(did_not) / len(did_not), 4) if did_not else None,
    }


def suggest(
    *,
    fit: Fit,
    features: list[Feature],
    rows: list[dict[str, float]],
    positives: list[bool],
    sales_ready_score: float,
) -> dict:
    """`rows`/`positives` are every label, oldest first; the first fit.train_size trained."""
    k = scale_factor(fit, rows[: fit.train_size], positives[: fit.train_size], sales_ready_score)
    rules, new_rules = [], []
    for feature in features:
        weight = fit.weights.get(feature.key, 0.0)
        suggested = round(weight * k) if k is not None else None
        row = {
            **feature.rule,
            "points": feature.points,
            "suggested_points": suggested,
            "weight": round(weight, 4),
            **evidence(feature.key, rows, positives),
        }
        if feature.rule_index is not None:
            rules.append(row)
        elif suggested is not None and abs(suggested) >= NEW_RULE_MINIMUM_POINTS:
            new_rules.append(row)
    new_rules.sort(key=lambda row: -abs(row["suggested_points"]))
    return {
        "scale": round(k, 4) if k is not None else None,
        "scaling": SCALING_TEXT,
        "rules": rules,
        "new_rules": new_rules,
    }


def biggest_changes(result: dict, count: int = 3) -> list[str]:
    """The rules whose points the suggestion moves most, as "form_submit: 25 → 41"."""
    moved = [
        row
        for row in result.get("rules", [])
        if row["suggested_points"] is not None and row["suggested_points"] != row["points"]
    ]
    moved.sort(key=lambda row: -abs(row["suggested_points"] - row["points"]))
    lines = [f"{rule_label(row)}: {row['points']:g} → {row['suggested_points']}" for row in moved[:count]]
    lines += [
        f"new rule {rule_label(row)}: {row['suggested_points']}"
        for row in result.get("new_rules", [])[:count]
    ]
    return lines


def rule_label(row: dict) -> str:
    target = next(
        (
            row[key]
            for key in ("url_pattern", "event_name", "asset", "asset_flag", "product_line")
            if row.get(key)
        ),
        "",
    )
    return f"{row['event_type']}{' ' + str(target) if target else ''}"
