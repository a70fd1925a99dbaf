"""Writes of the learning package: training runs, drafts from a suggestion, the likelihood."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from leads.db.bulk import table_tidy, update_rows
from leads.ingest.assets import AssetCatalog
from leads.models import Lead
from leads.services import active_version, spec_for
from leads.workspace.selectors import tally_calibration
from models_review import services as model_services
from models_review.learning import features as feature_set
from models_review.learning.labels import holdout_boundary, label_order, latest_labels
from models_review.learning.likelihood import Scorer
from models_review.learning.model import LABEL_MINIMUM, fit
from models_review.learning.suggestion import biggest_changes, suggest
from models_review.models import LearningRun, ModelVersion
from scoring_site.queueing import enqueue_or_outbox, waiting_for_workers

log = logging.getLogger(__name__)

QUEUE = "default"
TRAIN_JOB = "models_review.jobs.learning_run"
CHUNK_JOB = "models_review.jobs.likelihood_chunk"
TRAIN_TIMEOUT = 3600
LABEL_CHUNK = 500
LEAD_CHUNK = 5000


def learning_reference(run_id: int) -> str:
    return f"learning:{run_id}"


def learning_request(*, by=None) -> LearningRun:
    """Record a run and queue it (it waits in the outbox if Redis is down)."""
    with transaction.atomic():
        run = LearningRun.objects.create(requested_by=by)
        enqueue_or_outbox(
            QUEUE, TRAIN_JOB, reference=learning_reference(run.pk), job_timeout=TRAIN_TIMEOUT, run_id=run.pk
        )
    return run


def learning_waiting_for_workers(run: LearningRun) -> bool:
    return run.status == LearningRun.Status.QUEUED and waiting_for_workers(learning_reference(run.pk))


def too_few_labels_message(positives: int, negatives: int) -> str:
    return (
        f"Not enough labels to learn from: {positives} positive and {negatives} negative; at least "
        f"{LABEL_MINIMUM} of each are needed. Until then, use the tally calibration below."
    )


def learning_train(*, run_id: int | None = None, by=None, as_of: datetime | None = None) -> LearningRun:
    """Learn from every label (§11) and store the run. Re-running a finished run changes nothing."""
    run = LearningRun.objects.get(pk=run_id) if run_id else LearningRun.objects.create(requested_by=by)
    if run.finished:
        return run
    try:
        return _train(run, as_of or timezone.now())
    except Exception as error:
        log.exception("Learning run %s failed", run.pk)
        LearningRun.objects.filter(pk=run.pk).update(
            status=LearningRun.Status.FAILED,
            error=f"Learning failed: {error}. Start it again; nothing was changed.",
            finished_at=timezone.now(),
        )
        raise


def _train(run: LearningRun, as_of: datetime) -> LearningRun:
    version = active_version()
    scored_spec = spec_for(version)
    spec = feature_set.unit_spec(scored_spec)
    labels = sorted(
        (label for label in latest_labels().values() if label.at <= as_of),
        key=label_order,
    )
    positives = sum(label.positive for label in labels)
    LearningRun.objects.filter(pk=run.pk).update(
        status=LearningRun.Status.RUNNING,
        version=version,
        as_of=as_of,
        started_at=timezone.now(),
        total=len(labels),
        done=0,
        positives=positives,
        negatives=len(labels) - positives,
    )
    run.refresh_from_db()
    if positives < LABEL_MINIMUM or len(labels) - positives < LABEL_MINIMUM:
        tally = tally_calibration()
        run.result = {
            "labels": {"positive": positives, "negative": len(labels) - positives},
            "enough_labels": False,
            "message": too_few_labels_message(positives, len(labels) - positives),
            "tally_calibration": {
                "sales_ready_score": tally.sales_ready_score,
                "leads": tally.leads,
                "average_interactions": {label: round(average, 2) for _, label, average in tally.averages},
                "suggested_points_per_interaction": tally.suggested_points,
            },
        }
        run.status, run.finished_at = LearningRun.Status.TOO_FEW_LABELS, timezone.now()
        run.save(update_fields=["result", "status", "finished_at"])
        return run
    rows = _labelled_units(run, labels, spec)
    # Keys are the same under the unit spec; the points shown are the version's own.
    features = feature_set.rule_features(scored_spec) + feature_set.candidate_features(rows)
    outcome = [label.positive for label in labels]
    fitted = fit(rows, outcome, [feature.key for feature in features])
    suggestion = suggest(
        fit=fitted,
        features=features,
        rows=rows,
        positives=outcome,
        sales_ready_score=version.sales_ready_score,
    )
    run.result = {
        "labels": {"positive": positives, "negative": len(labels) - positives},
        "enough_labels": True,
        "window_days": feature_set.WINDOW.days,
        "train_size": fitted.train_size,
        "regularisation_c": fitted.regularisation_c,
        "holdout": fitted.holdout,
        "holdout_from": holdout_boundary(labels[fitted.train_size]),
        "sales_ready_score": version.sales_ready_score,
        **suggestion,
    }
    run.intercept, run.coefficients = fitted.intercept, fitted.weights
    run.features = [
        {"key": f.key, "label": f.label, "rule": f.rule, "rule_index": f.rule_index, "points": f.points}
        for f in features
    ]
    run.status, run.finished_at = LearningRun.Status.DONE, timezone.now()
    run.save(update_fields=["result", "intercept", "coefficients", "features", "status", "finished_at"])
    return run


def _labelled_units(run: LearningRun, labels, spec) -> list[dict[str, float]]:
    """Units per labelled lead, in label order, reading events chunk by chunk."""
    catalog, by_lead = AssetCatalog.load(), {}
    until = {label.lead_id: label.at for label in labels}
    ids = sorted(until)
    for start in range(0, len(ids), LABEL_CHUNK):
        chunk = ids[start : start + LABEL_CHUNK]
        by_lead.update(feature_set.stream_units(chunk, until=until, spec=spec, catalog=catalog))
        LearningRun.objects.filter(pk=run.pk).update(done=start + len(chunk))
    return [by_lead[label.lead_id] for label in labels]


class SuggestionError(ValueError):
    """A suggestion cannot become a draft; the message says why."""


def draft_from_suggestion(*, run: LearningRun, by=None) -> ModelVersion:
    """A draft of the version the run learned from, with the suggested points, the suggested
    new rules and a change note written from the evidence."""
    result = run.result
    if run.status != LearningRun.Status.DONE or result.get("scale") is None:
        raise SuggestionError("run: this run has no suggested points to make a draft from.")
    with transaction.atomic():
        draft = model_services.draft_copy(source=run.version, by=by)
        # The draft is a copy, so its rules are in the order the run's rule rows are.
        for rule, row in zip(draft.rules.all(), result["rules"]):
            if rule.event_type == row["event_type"] and rule.points != row["suggested_points"]:
                rule.points = row["suggested_points"]
                rule.save(update_fields=["points"])
        for row in result["new_rules"]:
            model_services.draft_rule_save(
                version=draft, rule={**_identity(row), "points": row["suggested_points"]}
            )
        draft.note = change_note(run)
        draft.save(update_fields=["note"])
        LearningRun.objects.filter(pk=run.pk).update(draft=draft)
    return draft


def _identity(row: dict) -> dict:
    return {key: row[key] for key in ("event_type", *feature_set.RULE_KEYS) if row.get(key)}


def change_note(run: LearningRun) -> str:
    result, holdout = run.result, run.result["holdout"]
    auc = f"{holdout['auc']:.2f}" if holdout["auc"] is not None else "n/a"
    lift = f"{holdout['lift_top_decile']:.1f}×" if holdout["lift_top_decile"] is not None else "n/a"
    changes = "; ".join(biggest_changes(result)) or "no rule changed"
    return (
        f"Suggested by learning run {run.pk} from {result['labels']['positive']} positive and "
        f"{result['labels']['negative']} negative sales labels (v{run.version.number}). "
        f"Holdout of the newest {holdout['size']} labels: AUC {auc}, top-decile lift {lift}. "
        f"Biggest changes: {changes}. {result['scaling']}"
    )


# --- likelihood -----------------------------------------------------------------------------


def latest_validated_run() -> LearningRun | None:
    return LearningRun.objects.filter(status=LearningRun.Status.DONE, intercept__isnull=False).first()


def likelihood_refresh(*, as_of: datetime | None = None, chunk_size: int = LEAD_CHUNK) -> LearningRun | None:
    """The nightly job: learn from today's labels, then score every lead with the latest
    validated run in id-range chunk jobs any worker can take."""
    as_of = as_of or timezone.now()
    learning_train(as_of=as_of)
    run = latest_validated_run()
    if run is not None:
        likelihood_chunks_enqueue(run, as_of=as_of, chunk_size=chunk_size)
    return run


def likelihood_chunks_enqueue(run: LearningRun, *, as_of: datetime, chunk_size: int = LEAD_CHUNK) -> int:
    """Queue the chunk jobs that score every lead with `run`; returns how many."""
    ranges = _lead_id_ranges(chunk_size)
    with transaction.atomic():
        LearningRun.objects.filter(pk=run.pk).update(likelihood_chunks=len(ranges), likelihood_chunks_done=0)
        for first_id, last_id in ranges:
            enqueue_or_outbox(
                QUEUE,
                CHUNK_JOB,
                reference=f"likelihood:{run.pk}:{first_id}:{as_of.isoformat()}",
                run_id=run.pk,
                first_id=first_id,
                last_id=last_id,
                as_of=as_of.isoformat(),
            )
    return len(ranges)


def _lead_id_ranges(chunk_size: int) -> list[tuple[int, int]]:
    bounds = Lead.objects.aggregate(first=Min("id"), last=Max("id"))
    if bounds["first"] is None:
        return []
    return [
        (start, min(start + chunk_size - 1, bounds["last"]))
        for start in range(bounds["first"], bounds["last"] + 1, chunk_size)
    ]


def likelihood_score_now(*, as_of: datetime, chunk_size: int = LEAD_CHUNK) -> int:
    """Every lead scored with the latest validated run in this process, chunk after chunk (the
    demo, a restore); the nightly job does the same work as chunk jobs. Returns leads scored."""
    run = latest_validated_run()
    if run is None:
        return 0
    ranges = _lead_id_ranges(chunk_size)
    LearningRun.objects.filter(pk=run.pk).update(likelihood_chunks=len(ranges), likelihood_chunks_done=0)
    return sum(
        likelihood_chunk_score(run_id=run.pk, first_id=first_id, last_id=last_id, as_of=as_of)
        for first_id, last_id in ranges
    )


def likelihood_chunk_score(*, run_id: int, first_id: int, last_id: int, as_of: datetime) -> int:
    """Score the leads with ids in [first_id, last_id]; idempotent (same inputs, same writes)."""
    run = LearningRun.objects.select_related("version").get(pk=run_id)
    spec = feature_set.unit_spec(spec_for(run.version))
    scorer = Scorer.for_run(run)
    ids = list(
        Lead.objects.filter(pk__gte=first_id, pk__lte=last_id).order_by("pk").values_list("pk", flat=True)
    )
    until = dict.fromkeys(ids, as_of)
    rows = []
    for lead_id, units in feature_set.stream_units(ids, until=until, spec=spec, catalog=AssetCatalog.load()):
        likely, factors = scorer.score(units)
        rows.append((lead_id, likely, factors, as_of))
    with transaction.atomic():
        update_rows(Lead, ["likelihood", "likelihood_factors", "likelihood_at"], rows)
        LearningRun.objects.filter(pk=run_id).update(likelihood_chunks_done=F("likelihood_chunks_done") + 1)
    if _likelihood_all_scored(run_id):
        table_tidy(Lead)  # every lead row was just rewritten
    return len(rows)


def _likelihood_all_scored(run_id: int) -> bool:
    return LearningRun.objects.filter(
        pk=run_id, likelihood_chunks__gt=0, likelihood_chunks_done__gte=F("likelihood_chunks")
    ).exists()
