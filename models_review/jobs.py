"""RQ jobs of models_review: thin wrappers taking primitives and calling one service."""

from datetime import datetime

from django.utils import timezone

from leads.background.jobruns import recorded
from models_review import preview, recalculation
from models_review.learning import services as learning
from models_review.services import preview_compute


def preview_run(run_id: int) -> None:
    preview_compute(run_id=run_id)


def preview_chunk_run(run_id: int, number: int) -> str:
    return preview.preview_chunk_execute(run_id=run_id, number=number)


def preview_part_run(run_id: int, first: int, last: int) -> str:
    return preview.preview_part_execute(run_id=run_id, first=first, last=last)


@recorded("recalculation")
def recalculation_run(run_id: int):
    run = recalculation.recalculation_execute(run_id=run_id)
    return f"run {run.pk}: {run.done} leads under {run.version} ({run.status})"


def recalculation_chunk_run(run_id: int, number: int) -> str:
    return recalculation.recalculation_chunk_execute(run_id=run_id, number=number)


@recorded("recalculation watchdog")
def recalculations_resume_stale(at: str | None = None):
    now = datetime.fromisoformat(at) if at else timezone.now()
    return f"{recalculation.recalculations_resume_stale(now=now)} stale runs requeued"


def learning_run(run_id: int) -> None:
    learning.learning_train(run_id=run_id)


@recorded("likelihood")
def likelihood_refresh(at: str | None = None):
    run = learning.likelihood_refresh(as_of=datetime.fromisoformat(at) if at else timezone.now())
    if run is None:
        return "no validated learning run yet: nothing scored"
    return f"run {run.pk}: {run.likelihood_chunks} chunks queued"


def likelihood_chunk(run_id: int, first_id: int, last_id: int, as_of: str) -> int:
    return learning.likelihood_chunk_score(
        run_id=run_id, first_id=first_id, last_id=last_id, as_of=datetime.fromisoformat(as_of)
    )
