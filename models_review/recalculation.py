"""Recalculation after a version is published (SPEC §7, §9): every lead replayed from its events.

Every lead is settled to the run's fixed `as_of` instant, so how the work is split never
changes the result. Two ways to do it:

- **One job** walks the leads in id order, one chunk per transaction; on PostgreSQL it
  streams every event once and writes with two sessions (the fastest path on one machine).
- **Chunk jobs** (`CHUNK_JOBS`): the run is split into id ranges, one RQ job
  each, taken side by side by any number of workers on any number of machines.

Either way a chunk's scores and its progress mark commit together: a worker killed at any
point leaves its chunk to be replayed again, and `last_lead_id` (the resume point) never
passes a chunk that is not done."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import F, Max, Min
from django.utils import timezone

from leads.background.recalculation import replay_all, replay_chunk
from leads.db.bulk import table_tidy
from leads.ingest.assets import AssetCatalog
from leads.models import Lead
from leads.services import accounts_rollup
from models_review.chunks import chunks_enqueue, chunks_plan, pending_chunk_locked
from models_review.models import RecalculationChunk, RecalculationRun
from scoring_site.queueing import chunk_jobs_wanted, enqueue_or_outbox, waiting_for_workers

CHUNK_SIZE = 5000
RECALC_QUEUE = "recalc"
JOB_PATH = "models_review.jobs.recalculation_run"
CHUNK_JOB_PATH = "models_review.jobs.recalculation_chunk_run"
STALE_AFTER = timedelta(minutes=10)


def run_reference(run: RecalculationRun) -> str:
    return f"recalculation:{run.pk}"


def recalculation_request(*, version, by=None) -> RecalculationRun:
    """Record who asked for what, and queue the run (outbox if Redis is down; never raises for it)."""
    run = RecalculationRun.objects.create(version=version, requested_by=by, total=Lead.objects.count())
    enqueue_or_outbox(RECALC_QUEUE, JOB_PATH, reference=run_reference(run), run_id=run.pk)
    return run


def recalculation_execute(*, run_id: int, chunk_size: int | None = None) -> RecalculationRun:
    """Run (or resume) a recalculation to the end. Idempotent: a finished run does nothing."""
    run = _start(run_id)
    if run.status == RecalculationRun.Status.DONE:
        return run
    if not type(run.version).objects.filter(pk=run.version_id, is_active=True).exists():
        # A newer version was published meanwhile; its own run replays every lead.
        RecalculationRun.objects.filter(pk=run.pk).update(
            status=RecalculationRun.Status.FAILED,
            finished_at=timezone.now(),
            error="Stopped: a newer version was published and is being recalculated instead.",
        )
        run.refresh_from_db()
        return run
    if _wants_chunk_jobs(run):
        chunks_plan(run, after_id=run.last_lead_id, every=chunk_size or CHUNK_SIZE)
        _chunks_enqueue(run)
        return run
    catalog = AssetCatalog.load()
    try:
        replay_all(
            version=run.version,
            after_id=run.last_lead_id,
            as_of=run.as_of,
            catalog=catalog,
            chunk_size=chunk_size or CHUNK_SIZE,
            on_written=lambda result: _mark_progress(run, result),
        )
    except RunTakenOver:
        return RecalculationRun.objects.get(pk=run.pk)
    except Exception as error:
        RecalculationRun.objects.filter(pk=run.pk).update(
            status=RecalculationRun.Status.FAILED, error=str(error)[:2000]
        )
        raise
    # Member scores and the version's account settings changed: account scores follow now,
    # not at the next hourly roll-up.
    accounts_rollup(as_of=run.as_of)
    RecalculationRun.objects.filter(pk=run.pk).update(
        status=RecalculationRun.Status.DONE, finished_at=timezone.now(), total=F("done"), error=""
    )
    table_tidy(Lead)
    run.refresh_from_db()
    return run


def _wants_chunk_jobs(run: RecalculationRun) -> bool:
    # A run split once stays split, so a resume never replays a range twice.
    return run.chunks.exists() or chunk_jobs_wanted(RECALC_QUEUE)


def _chunks_enqueue(run: RecalculationRun) -> int:
    return chunks_enqueue(run, queue_name=RECALC_QUEUE, job=CHUNK_JOB_PATH, reference=run_reference(run))


def recalculation_chunk_execute(*, run_id: int, number: int) -> str:
    """Replay one chunk of a run. Idempotent: a chunk done, or held by another worker, is left alone."""
    with transaction.atomic():
        chunk = pending_chunk_locked(
            RecalculationChunk, run_id=run_id, number=number, related=("run__version",)
        )
        if chunk is None:
            return "nothing to do"
        run = chunk.run
        if run.status != RecalculationRun.Status.RUNNING:
            return f"run is {run.status}"
        result = replay_chunk(
            version=run.version,
            after_id=chunk.after_id,
            up_to_id=chunk.last_id,
            limit=None,
            as_of=run.as_of,
            catalog=AssetCatalog.load(),
        )
        chunk.status, chunk.leads, chunk.finished_at = (
            RecalculationChunk.Status.DONE,
            result.leads if result else 0,
            timezone.now(),
        )
        chunk.save(update_fields=["status", "leads", "finished_at"])
        finished = _chunk_progress_mark(run, chunk)
    if finished:
        table_tidy(Lead)
    return f"chunk {number}: {chunk.leads} leads"


def _chunk_progress_mark(run: RecalculationRun, chunk: RecalculationChunk) -> bool:
    """Count the chunk and move the resume point up to the first chunk not done yet;
    True when it was the run's last chunk."""
    run = RecalculationRun.objects.select_for_update().get(pk=run.pk)
    first_pending = run.chunks.filter(status=RecalculationChunk.Status.PENDING).aggregate(n=Min("number"))[
        "n"
    ]
    run.done += chunk.leads
    if first_pending is None:
        # The last chunk: account scores follow the new member scores now (see above).
        accounts_rollup(as_of=run.as_of)
        last = run.chunks.aggregate(n=Max("last_id"))["n"]
        run.last_lead_id = max(run.last_lead_id, chunk.last_id or 0, last or 0, _last_lead_id())
        run.status, run.finished_at, run.total, run.error = (
            RecalculationRun.Status.DONE,
            timezone.now(),
            run.done,
            "",
        )
    else:
        before = run.chunks.filter(number=first_pending).values_list("after_id", flat=True).first()
        run.last_lead_id = max(run.last_lead_id, before)
    run.save(update_fields=["done", "last_lead_id", "status", "finished_at", "total", "error", "updated_at"])
    return first_pending is None


def _last_lead_id() -> int:
    return Lead.objects.aggregate(n=Max("pk"))["n"] or 0


def _start(run_id: int) -> RecalculationRun:
    with transaction.atomic():
        run = RecalculationRun.objects.select_for_update().select_related("version").get(pk=run_id)
        if run.status == RecalculationRun.Status.DONE:
            return run
        now = timezone.now()
        run.as_of = run.as_of or now
        run.started_at = run.started_at or now
        # Leads created since the request are replayed too; keep the bar honest.
        run.total = max(run.done + Lead.objects.filter(pk__gt=run.last_lead_id).count(), run.done)
        run.status, run.error = RecalculationRun.Status.RUNNING, ""
        run.save(update_fields=["as_of", "started_at", "total", "status", "error", "updated_at"])
    return run


class RunTakenOver(Exception):
    """Another worker advanced this run meanwhile; this chunk rolls back and this worker stops."""


def _mark_progress(run: RecalculationRun, chunk) -> None:
    # Conditional on the resume point we started the chunk from, so two workers on one run
    # (a stale-run resume racing a slow original) never count a chunk twice.
    moved = RecalculationRun.objects.filter(pk=run.pk, last_lead_id=run.last_lead_id).update(
        last_lead_id=chunk.last_lead_id, done=F("done") + chunk.leads, updated_at=timezone.now()
    )
    if not moved:
        raise RunTakenOver(f"Recalculation {run.pk} is being run by another worker.")
    run.last_lead_id = chunk.last_lead_id


def recalculations_resume_stale(*, now, stale_after: timedelta = STALE_AFTER) -> int:
    """Requeue runs whose worker died (SIGKILL, timeout, lost machine): no progress for a while."""
    stale = list(
        RecalculationRun.objects.filter(
            status=RecalculationRun.Status.RUNNING, updated_at__lt=now - stale_after
        )
    )
    for run in stale:
        RecalculationRun.objects.filter(pk=run.pk).update(updated_at=now)
        if run.chunks.exists():
            _chunks_enqueue(run)  # the chunks a dead worker held are still pending
        elif not waiting_for_workers(run_reference(run)):
            enqueue_or_outbox(RECALC_QUEUE, JOB_PATH, reference=run_reference(run), run_id=run.pk)
    return len(stale)


def seconds_left(run: RecalculationRun) -> float | None:
    """Time left at the pace so far; None before the first chunk."""
    if run.status != RecalculationRun.Status.RUNNING or not run.done or not run.started_at:
        return None
    elapsed = (timezone.now() - run.started_at).total_seconds()
    return max(0.0, elapsed / run.done * (run.total - run.done))


def is_waiting_for_workers(run: RecalculationRun) -> bool:
    return run.status == RecalculationRun.Status.QUEUED and waiting_for_workers(run_reference(run))


def eta_text(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 60:
        return "less than a minute left"
    return (
        f"about {round(seconds / 60)} min left"
        if seconds < 3600
        else f"about {timedelta(seconds=round(seconds))} left"
    )
