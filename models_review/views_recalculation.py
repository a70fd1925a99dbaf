"""The recalculation progress page: a bar that htmx refreshes every second until done."""

from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from leads.roles import marketer_required
from models_review.models import RecalculationRun
from models_review.recalculation import eta_text, is_waiting_for_workers, seconds_left
from scoring_site.htmx import htmx_partial


@require_GET
@marketer_required
def recalculation(request, pk):
    run = get_object_or_404(
        RecalculationRun.objects.select_related("version__scoring_model", "requested_by"), pk=pk
    )
    context = {
        "run": run,
        "finished": run.status in (RecalculationRun.Status.DONE, RecalculationRun.Status.FAILED),
        "percent": round(run.percent, 1),
        "eta": eta_text(seconds_left(run)),
        "waiting_for_workers": is_waiting_for_workers(run),
    }
    template = (
        "models_review/_recalculation_progress.html"
        if htmx_partial(request)
        else "models_review/recalculation.html"
    )
    return render(request, template, context)
