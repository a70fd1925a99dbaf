"""RQ jobs of the models app: thin wrappers taking primitives and calling one service."""
from leads.jobruns import recorded
from models_review.recalculation import recalculation_execute


@recorded("recalculation")
def recalculation_run(run_id: int):
    run = recalculation_execute(run_id=run_id)
    return f"run {run.pk}: {run.done} leads under {run.version}"
