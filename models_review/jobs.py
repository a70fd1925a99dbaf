"""RQ jobs of models_review: thin wrappers taking ids and calling one service."""
from models_review.services import preview_compute


def preview_run(run_id: int) -> None:
    preview_compute(run_id=run_id)
