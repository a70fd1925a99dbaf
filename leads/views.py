from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from leads import scoring, selectors
from leads.models import Lead
from leads.roles import visible_leads
from leads.workspace_forms import AdjustForm


@login_required
def home(request):
    leads = visible_leads(request.user, Lead.objects.all())
    return render(request, "leads/home.html", {
        "stage_counts": selectors.stage_counts(leads=leads),
        "lead_total": leads.count(),
        "top_leads": selectors.top_leads(user=request.user),
        "recent_events": selectors.recent_events(user=request.user),
    })


@login_required
def lead_detail(request, pk):
    lead = get_object_or_404(visible_leads(request.user, Lead.objects.select_related("account", "owner")), pk=pk)
    contributions, replayed_score = selectors.lead_contributions(lead=lead)
    score_now = selectors.lead_score_now(lead=lead)
    return render(request, "leads/lead_detail.html", {
        "lead": lead,
        "score_now": score_now,
        # The stored score and a replay agree (§3); if a recalculation is still running they may not.
        "score_pending": not scoring.is_close(score_now, replayed_score, 1e-4),
        "contributions": contributions,
        "contribution_total": sum(line.delta for line in contributions),
        "product_scores": lead.product_scores.select_related("product_line").order_by("-score"),
        "stage_changes": lead.stage_changes.order_by("-at", "-id")[:50],
        "tallies": selectors.lead_tallies(lead=lead),
        "adjust_form": AdjustForm(),
    })


@require_GET
def health(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
