"""Writes on scoring models: import, export, draft, publish (SPEC §2, §2a)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from leads.engine import scoring
from leads.models import Lead
from leads.services import active_version, lead_set_stage
from models_review import model_file
from models_review.models import (
    ModelVersion,
    PreviewRun,
    Review,
    Rule,
    SalesFeedback,
    ScoringModel,
    VersionCitation,
)
from models_review.preview import compute
from models_review.recalculation import recalculation_request
from models_review.selectors import review_schedule
from scoring_site.queueing import enqueue_or_outbox, waiting_for_workers

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
            scoring_model=scoring_model,
            number=number,
            note=clean["note"] or "Imported from a model file.",
            sales_ready_score=clean["sales_ready_score"],
            inactivity_days=decay["inactivity_days"],
            period_days=decay["period_days"],
            decay_mode=decay["mode"],
            decay_amount=decay["amount"],
            floor_fraction=decay["floor_fraction"],
            cold_after_days=clean["cold_after_days"],
            stage_mode=clean["stage_mode"],
            account_threshold=clean["account_threshold"],
            engagement_days=clean["engagement_days"],
            account_min_engaged=clean["account_min_engaged"],
            created_by=by,
        )
        Rule.objects.bulk_create(
            [
                Rule(
                    version=version,
                    position=position,
                    event_type=rule["event_type"],
                    points=rule["points"],
                    max_per_day=rule.get("max_per_day"),
                    **{key: rule.get(key) or "" for key in RULE_TEXT_FIELDS},
                )
                for position, rule in enumerate(clean["rules"])
            ]
        )
        if publish:
            version_publish(version=version, by=by)
    return version


def version_export(*, version: ModelVersion) -> dict:
    data = {
        "model": version.scoring_model.name,
        "note": version.note,
        "sales_ready_score": version.sales_ready_score,
        "decay": {
            "inactivity_days": version.inactivity_days,
            "period_days": version.period_days,
            "mode": version.decay_mode,
            "amount": version.decay_amount,
            "floor_fraction": version.floor_fraction,
        },
        "cold_after_days": version.cold_after_days,
        "stage_mode": version.stage_mode,
        "account_threshold": version.account_threshold,
        "engagement_days": version.engagement_days,
        "account_min_engaged": version.account_min_engaged,
        "rules": [_rule_export(rule) for rule in version.rules.all()],
    }
    if data["account_threshold"] is None:
        del data["account_threshold"]
    # Optional keys at their defaults stay out, so exporting an unchanged model gives the
    # same file people keep in git.
    for key, default in model_file.OPTIONAL_DEFAULTS.items():
        if data[key] == default:
            del data[key]
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
    with transaction.atomic():
        # Locked, so two people publishing the same draft at once get one version, one refusal.
        check_publishable(ModelVersion.objects.select_for_update().get(pk=version.pk))
        ModelVersion.objects.filter(is_active=True).update(is_active=False)
        ModelVersion.objects.filter(pk=version.pk).update(
            status=ModelVersion.Status.PUBLISHED,
            is_active=True,
            published_at=timezone.now(),
            published_by=by,
        )
        version.refresh_from_db()
        _after_publish(version, by=by)
    return version


def _after_publish(version: ModelVersion, *, by=None) -> None:
    if Lead.objects.exists():
        # Queued, not run here: the request returns at once and the run shows its progress.
        recalculation_request(version=version, by=by)


def ensure_default_model() -> ModelVersion:
    """The first run publishes the default model so events score from the start."""
    active = ModelVersion.objects.filter(is_active=True).first()
    if active:
        return active
    return version_import(data=json.loads(DEFAULT_MODEL_FILE.read_text()), publish=True)


# --- drafts edited in the browser -----------------------------------------------------------


VERSION_SETTING_FIELDS = (
    "sales_ready_score",
    "inactivity_days",
    "period_days",
    "decay_mode",
    "decay_amount",
    "floor_fraction",
    "cold_after_days",
    "stage_mode",
    "account_threshold",
    "engagement_days",
    "account_min_engaged",
)


class DraftError(ValueError):
    """A draft operation refused; the message names the field at fault."""


def check_publishable(version: ModelVersion) -> None:
    """Validation before publishing: only drafts, a change note, and a valid model file."""
    if version.is_published:
        raise DraftError(
            f"status: version {version.number} is already published and cannot be published again."
        )
    if not (version.note or "").strip():
        raise DraftError("note: write a change note saying why this version differs from the last.")
    model_file.validate(version_export(version=version))
    _spec_trial(version)


def _spec_trial(version: ModelVersion) -> None:
    """Compute the spec once and decay a sales-ready lead over the longest gap a page can ask
    about, so a version that would break ingest or pages is refused before it is live."""
    try:
        spec = version.spec()
        start = datetime(1970, 1, 1, tzinfo=UTC)
        state = scoring.ScoreState(float(spec.sales_ready_score), start, start)
        end = timezone.now() + timedelta(days=model_file.MAX_DAYS)
        list(scoring.decay_steps(state, end, spec.decay, spec.floor))
        scoring.advance(state, end, spec.decay, spec.floor)
        scoring.stage_for_score(float(spec.account_sales_ready_score), spec)
    except (ArithmeticError, ValueError) as problem:
        raise DraftError(
            f"settings: this version cannot be scored ({problem}); check its settings."
        ) from None


def _editable(version: ModelVersion) -> ModelVersion:
    fresh = ModelVersion.objects.select_for_update().get(pk=version.pk)
    if fresh.is_published:
        raise DraftError(f"status: version {fresh.number} is published; copy it to a draft to change it.")
    return fresh


def draft_copy(*, source: ModelVersion, by=None) -> ModelVersion:
    """A new draft with the source's settings and rules; the change note starts empty.
    A model has at most one draft: when one exists it is returned untouched, so a second
    click (or a second marketer) opens the draft in progress instead of forking it."""
    with transaction.atomic():
        scoring_model = ScoringModel.objects.select_for_update().get(pk=source.scoring_model_id)
        existing = scoring_model.versions.filter(status=ModelVersion.Status.DRAFT).order_by("-number").first()
        if existing is not None:
            return existing
        number = (scoring_model.versions.aggregate(n=Max("number"))["n"] or 0) + 1
        draft = ModelVersion.objects.create(
            scoring_model=scoring_model,
            number=number,
            note="",
            created_by=by,
            **{name: getattr(source, name) for name in VERSION_SETTING_FIELDS},
        )
        Rule.objects.bulk_create(
            [
                Rule(
                    version=draft,
                    position=rule.position,
                    event_type=rule.event_type,
                    points=rule.points,
                    max_per_day=rule.max_per_day,
                    **{key: getattr(rule, key) for key in RULE_TEXT_FIELDS},
                )
                for rule in source.rules.all()
            ]
        )
    return draft


def draft_update(*, version: ModelVersion, note: str, settings: dict, cited_feedback_ids=()) -> ModelVersion:
    """Store validated settings (see forms.VersionSettingsForm) and the feedback the note cites."""
    with transaction.atomic():
        draft = _editable(version)
        draft.note = note.strip()
        for name in VERSION_SETTING_FIELDS:
            setattr(draft, name, settings[name])
        draft.save(update_fields=["note", *VERSION_SETTING_FIELDS])
        VersionCitation.objects.filter(version=draft).exclude(
            feedback_id__in=list(cited_feedback_ids)
        ).delete()
        VersionCitation.objects.bulk_create(
            [VersionCitation(version=draft, feedback_id=pk) for pk in cited_feedback_ids],
            ignore_conflicts=True,
        )
    return draft


def draft_rule_save(*, version: ModelVersion, rule: dict, rule_id: int | None = None) -> Rule:
    """Add a rule at the end, or change one, from a validated rule dict (§2a keys)."""
    with transaction.atomic():
        draft = _editable(version)
        if rule_id is None:
            position = (draft.rules.aggregate(p=Max("position"))["p"] or 0) + 1
            row = Rule(version=draft, position=position)
        else:
            row = Rule.objects.get(pk=rule_id, version=draft)
        row.event_type, row.points, row.max_per_day = (
            rule["event_type"],
            rule["points"],
            rule.get("max_per_day"),
        )
        for key in RULE_TEXT_FIELDS:
            setattr(row, key, rule.get(key) or "")
        row.save()
    return row


def draft_save(
    *, version: ModelVersion, note: str, settings: dict, cited_feedback_ids=(), rules: list[dict]
) -> ModelVersion:
    """The draft editor's one Save: settings, note, citations and the whole rule list in one
    transaction. `rules` is the list in page order, each a validated rule dict with `id` (None
    for a new row); the draft's rules not listed are deleted. Either all of it is stored or
    nothing is."""
    with transaction.atomic():
        draft = draft_update(
            version=version, note=note, settings=settings, cited_feedback_ids=cited_feedback_ids
        )
        existing = {rule.pk: rule for rule in draft.rules.all()}
        unknown = [rule["id"] for rule in rules if rule.get("id") is not None and rule["id"] not in existing]
        if unknown:
            raise DraftError(
                f"rules: rule {unknown[0]} is not part of draft v{draft.number} (it was deleted meanwhile?); "
                "reload the page."
            )
        kept = {rule["id"] for rule in rules if rule.get("id") is not None}
        if len(kept) != sum(rule.get("id") is not None for rule in rules):
            raise DraftError("rules: the same rule is listed twice; reload the page.")
        Rule.objects.filter(version=draft).exclude(pk__in=kept).delete()
        for position, rule in enumerate(rules, start=1):
            row = existing[rule["id"]] if rule.get("id") is not None else Rule(version=draft)
            row.position = position
            row.event_type, row.points, row.max_per_day = (
                rule["event_type"],
                rule["points"],
                rule.get("max_per_day"),
            )
            for key in RULE_TEXT_FIELDS:
                setattr(row, key, rule.get(key) or "")
            row.save()
    return draft


def draft_discard(*, version: ModelVersion) -> None:
    with transaction.atomic():
        _editable(version).delete()


# --- sales feedback -------------------------------------------------------------------------

FEEDBACK_FIELDS = ("really_sales_ready", "reason", "outcome", "note", "good_actions_note")


def feedback_record(*, lead, rep, changes: dict):
    """Create or change `rep`'s own feedback on `lead`. Only the given fields change, so a
    one-click verdict keeps an earlier note. An outcome of opportunity or won moves the
    lead into that sales-owned stage (§5), never backwards."""
    unknown = set(changes) - set(FEEDBACK_FIELDS)
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]}: not a feedback field")
    with transaction.atomic():
        feedback, created = SalesFeedback.objects.select_for_update().get_or_create(
            lead=lead,
            rep=rep,
            defaults={"version": _active_or_none()},
        )
        for name, value in changes.items():
            setattr(feedback, name, value)
        feedback.save()
        stage = {"opportunity": scoring.OPPORTUNITY, "won": scoring.CUSTOMER}.get(changes.get("outcome", ""))
        if stage is not None and (lead.stage < stage or lead.stage == scoring.DISQUALIFIED):
            lead_set_stage(lead=lead, stage=stage, by=rep, note=f"Outcome recorded by {rep.get_username()}")
    return feedback


def _active_or_none():
    try:
        return active_version()
    except LookupError:
        return None


# --- preview --------------------------------------------------------------------------------

PREVIEW_QUEUE = "default"
PREVIEW_JOB = "models_review.jobs.preview_run"
# Replaying every lead under two versions can take longer than the "default" queue's 10 minutes.
PREVIEW_TIMEOUT = 3600


def preview_reference(run_id: int) -> str:
    return f"preview:{run_id}"


def preview_request(*, draft: ModelVersion, by=None):
    """Record a preview run and queue its job (it waits in the outbox if Redis is down)."""
    if draft.is_published:
        raise DraftError(f"status: version {draft.number} is published; preview a draft.")
    with transaction.atomic():
        run = PreviewRun.objects.create(draft=draft, baseline=active_version(), requested_by=by)
        enqueue_or_outbox(
            PREVIEW_QUEUE,
            PREVIEW_JOB,
            reference=preview_reference(run.pk),
            job_timeout=PREVIEW_TIMEOUT,
            run_id=run.pk,
        )
    return run


def preview_waiting_for_workers(run: PreviewRun) -> bool:
    """True while the preview's job sits in the outbox because Redis was down."""
    return run.status == PreviewRun.Status.QUEUED and waiting_for_workers(preview_reference(run.pk))


def preview_compute(*, run_id: int) -> None:
    compute(run_id=run_id)


# --- reviews --------------------------------------------------------------------------------


def review_complete(*, version: ModelVersion, by, answers: dict, notes: str, figures: dict, today=None):
    schedule = review_schedule(today=today)
    if schedule is None:
        raise DraftError("version: no version has been published yet, so there is nothing to review.")
    return Review.objects.create(
        version=version,
        due_on=schedule.due_on,
        completed_at=timezone.now(),
        completed_by=by,
        answers=answers,
        notes=notes.strip(),
        figures=figures,
    )
