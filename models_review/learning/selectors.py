"""Reads of learning runs for the page, the command and the charts."""

from __future__ import annotations

from models_review.learning.suggestion import rule_label
from models_review.models import LearningRun

RUNS_LISTED = 10


def suggestion_document(run: LearningRun) -> dict:
    """The run as the command's JSON and the page show it (keys of the issue: labels, holdout,
    rules with their §2a identifying keys, points and suggested_points, new_rules)."""
    result = run.result or {}
    document = {
        "run": run.pk,
        "status": run.status,
        "learned_at": run.finished_at.isoformat() if run.finished_at else None,
        "version": run.version.number if run.version else None,
        "enough_labels": bool(result.get("enough_labels")),
        "labels": result.get("labels", {"positive": run.positives, "negative": run.negatives}),
    }
    if not document["enough_labels"]:
        document.update(
            message=result.get("message", run.error or ""),
            tally_calibration=result.get("tally_calibration"),
            holdout=None,
            rules=[],
            new_rules=[],
        )
        return document
    document.update(
        window_days=result["window_days"],
        train_size=result["train_size"],
        holdout=result["holdout"],
        scale=result["scale"],
        scaling=result["scaling"],
        rules=[{**row, "label": rule_label(row)} for row in result["rules"]],
        new_rules=[{**row, "label": rule_label(row)} for row in result["new_rules"]],
    )
    return document


def recent_runs():
    return LearningRun.objects.select_related("version", "draft", "requested_by")[:RUNS_LISTED]


def lift_rows(run: LearningRun) -> list[dict]:
    """Observed positive rate per holdout decile over the overall rate (1.0 = no better than chance)."""
    holdout = (run.result or {}).get("holdout") or {}
    table = holdout.get("calibration") or []
    overall = holdout.get("positives", 0) / holdout["size"] if holdout.get("size") else 0
    return [
        {"decile": row["decile"], "lift": round(row["observed"] / overall, 3) if overall else 0.0}
        for row in table
    ]
