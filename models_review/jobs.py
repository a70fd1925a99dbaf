"""RQ jobs of models_review: thin wrappers taking primitives and calling one service."""

from datetime import datetime

from django.utils import timezone

from leads.background.jobruns import recorded
from models_review import recalculation
from models_review.services import preview_compute


def preview_run(run_id: int) -> None:
    preview_compute(run_id=run_id)


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
