"""Writes on scoring models: import, export, draft, publish (SPEC §2, §2a)."""
from __future__ import annotations

import json
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from models_review import model_file
from models_review.models import ModelVersion, Rule, ScoringModel

DEFAULT_MODEL_FILE = Path(__file__).with_name("default_model.json")
RULE_TEXT_FIELDS = ("url_pattern", "event_name", "asset", "asset_flag", "product_line")


def version_import(*, data: dict, by=None, publish: bool = False) -> ModelVersion:
    """Create a new version from a model file; validation happens before any write."""
    clean = model_file.validate(data)
    with transaction.atomic():
        scoring_model, _ = ScoringModel.objects.get_or_create(name=clean["model"])
        number = (scoring_model.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        decay = clean["decay"]
        version = ModelVersion.objects.create(
            scoring_model=scoring_model, number=number, note=clean["note"] or "Imported from a model file.",
            sales_ready_score=clean["sales_ready_score"], inactivity_days=decay["inactivity_days"],
            period_days=decay["period_days"], decay_mode=decay["mode"], decay_amount=decay["amount"],
            floor_fraction=decay["floor_fraction"], cold_after_days=clean["cold_after_days"],
            stage_mode=clean["stage_mode"], account_threshold=clean["account_threshold"], created_by=by,
        )
        Rule.objects.bulk_create([
            Rule(version=version, position=position, event_type=rule["event_type"], points=rule["points"],
                 max_per_day=rule.get("max_per_day"),
                 **{key: rule.get(key) or "" for key in RULE_TEXT_FIELDS})
            for position, rule in enumerate(clean["rules"])
        ])
        if publish:
            version_publish(version=version, by=by)
    return version


def version_export(*, version: ModelVersion) -> dict:
    data = {
        "model": version.scoring_model.name,
        "note": version.note,
        "sales_ready_score": version.sales_ready_score,
        "decay": {
            "inactivity_days": version.inactivity_days, "period_days": version.period_days,
            "mode": version.decay_mode, "amount": version.decay_amount, "floor_fraction": version.floor_fraction,
        },
        "cold_after_days": version.cold_after_days,
        "stage_mode": version.stage_mode,
        "account_threshold": version.account_threshold,
        "rules": [_rule_export(rule) for rule in version.rules.all()],
    }
    if data["account_threshold"] is None:
        del data["account_threshold"]
    return _whole_numbers_as_int(data)


def _whole_numbers_as_int(value):
    """100.0 → 100, so exported files read like the ones people write."""
    if isinstance(value, dict):
        return {key: _whole_numbers_as_int(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers_as_int(item) for item in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _rule_export(rule: Rule) -> dict:
    exported = {"event_type": rule.event_type}
    exported.update({key: getattr(rule, key) for key in RULE_TEXT_FIELDS if getattr(rule, key)})
    exported["points"] = rule.points
    if rule.max_per_day is not None:
        exported["max_per_day"] = rule.max_per_day
    return exported


def version_publish(*, version: ModelVersion, by=None) -> ModelVersion:
    """Freeze a draft and make it the active version. Scores follow by recalculation."""
    model_file.validate(version_export(version=version))
    with transaction.atomic():
        ModelVersion.objects.filter(is_active=True).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.PUBLISHED, is_active=True, published_at=timezone.now(), published_by=by,
        )
        version.refresh_from_db()
        _after_publish(version, by=by)
    return version


def _after_publish(version: ModelVersion, *, by=None) -> None:
    from leads.models import Lead

    if Lead.objects.exists():
        from models_review.recalculation import recalculation_request

        # Queued, not run here: the request returns at once and the run shows its progress.
        recalculation_request(version=version, by=by)


def ensure_default_model() -> ModelVersion:
    """The first run publishes the default model so events score from the start."""
    active = ModelVersion.objects.filter(is_active=True).first()
    if active:
        return active
    return version_import(data=json.loads(DEFAULT_MODEL_FILE.read_text()), publish=True)
