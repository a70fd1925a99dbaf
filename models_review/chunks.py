"""Work over every lead split into id-range chunk jobs (§9), shared by recalculation and preview.

A run plans its chunks once (`LeadRangeChunk` rows), queues one job per pending chunk, and
each job takes its chunk under a row lock: a chunk done, or held by another worker, is left
alone, so a job delivered twice or requeued after a worker died does its work once."""

from __future__ import annotations

from django.db import connection

from leads.db.bulk import id_bounds
from leads.models import Lead
from scoring_site.queueing import enqueue_or_outbox, waiting_for_workers


def chunks_plan(run, *, after_id: int, every: int) -> None:
    """Split the leads after `after_id` into ranges of `every` leads, once per run."""
    if run.chunks.exists():
        return
    bounds = id_bounds(Lead, after_id=after_id, every=every)
    edges = [after_id, *bounds]
    model = run.chunks.model
    model.objects.bulk_create(
        model(run=run, number=number, after_id=edges[number], last_id=upper)
        for number, upper in enumerate([*bounds, None])
    )


def chunks_enqueue(run, *, queue_name: str, job: str, reference: str) -> int:
    """Queue a job for every chunk not done yet (not again for one still waiting in the outbox)."""
    pending = list(run.chunks.filter(status="pending").values_list("number", flat=True))
    for number in pending:
        chunk_reference = f"{reference}:chunk:{number}"
        if not waiting_for_workers(chunk_reference):
            enqueue_or_outbox(queue_name, job, reference=chunk_reference, run_id=run.pk, number=number)
    return len(pending)


def pending_chunk_locked(model, *, run_id: int, number: int, related: tuple[str, ...] = ()):
    """The chunk, locked for this transaction, if it is still pending and no other worker holds it."""
    skip_locked = connection.features.has_select_for_update_skip_locked
    return (
        # Only the chunk row (OF self): locking the joined run and version too made a second
        # worker skip every chunk as held while the first one replayed its own.
        model.objects.select_for_update(skip_locked=skip_locked, of=("self",))
        .select_related(*related)
        .filter(run_id=run_id, number=number, status=model.Status.PENDING)
        .first()
    )
