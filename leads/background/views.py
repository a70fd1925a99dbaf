"""The job status page for marketers: are the background workers doing their work?"""

from django.shortcuts import render
from django.views.decorators.http import require_GET

from leads.background import job_status
from leads.roles import marketer_required
from models_review.models import ModelVersion, RecalculationRun


@require_GET
@marketer_required
def status(request):
    return render(
        request,
        "leads/status.html",
        {
            "jobs": job_status.periodic_jobs(),
            "queues": job_status.queue_states(),
            "outbox_waiting": job_status.outbox_waiting(),
            "failures": job_status.recent_failures(),
            "recalculations": RecalculationRun.objects.select_related(
                "version__scoring_model", "requested_by"
            )[:5],
            "live_version": ModelVersion.objects.filter(is_active=True)
            .select_related("scoring_model")
            .first(),
        },
    )
