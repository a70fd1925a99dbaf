"""The Suggestions page under Model (§11): learning runs, their holdout evidence, the
suggested points and the one click that turns a suggestion into a draft."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from leads.roles import marketer_required
from models_review.learning import selectors, services
from models_review.models import LearningRun
from scoring_site.htmx import htmx_partial


@require_GET
@marketer_required
def suggestions(request):
    runs = selectors.recent_runs()
    chosen = request.GET.get("run", "")
    if chosen.isascii() and chosen.isdigit() and len(chosen) < 19:
        run = get_object_or_404(LearningRun.objects.select_related("version", "draft"), pk=int(chosen))
    else:
        run = runs.first()
    context = {
        "run": run,
        "document": selectors.suggestion_document(run) if run and run.finished else None,
        "runs": runs,
        "waiting_for_workers": bool(run) and services.learning_waiting_for_workers(run),
    }
    template = "models_review/_suggestion.html" if htmx_partial(request) else "models_review/suggestions.html"
    return render(request, template, context)


@require_POST
@marketer_required
def suggestion_start(request):
    run = services.learning_request(by=request.user)
    return redirect(f"{reverse('models_review:suggestions')}?run={run.pk}")


@require_POST
@marketer_required
def suggestion_draft(request, pk):
    run = get_object_or_404(LearningRun.objects.select_related("version"), pk=pk)
    try:
        draft = services.draft_from_suggestion(run=run, by=request.user)
    except services.SuggestionError as error:
        messages.error(request, str(error))
        return redirect(f"{reverse('models_review:suggestions')}?run={run.pk}")
    messages.success(
        request, f"Draft v{draft.number} written from the suggestion. Preview it against history."
    )
    return redirect("models_review:version", draft.pk)
