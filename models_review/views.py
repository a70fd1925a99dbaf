"""Pages of models_review: versions, the sheet, previews, sales feedback and reviews."""

import csv

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from leads.models import Lead
from leads.roles import marketer_required, visible_leads
from leads.services import active_version
from leads.workspace.selectors import score_breakdowns
from leads.workspace.spreadsheet import spreadsheet_cell
from models_review import model_file, selectors, services
from models_review.forms import (
    REVIEW_QUESTIONS,
    DraftEditor,
    FeedbackFilterForm,
    FeedbackForm,
    MyLeadsFilterForm,
    ReviewForm,
)
from models_review.models import ModelVersion, PreviewRun, RecalculationRun, SalesFeedback
from scoring_site.htmx import htmx_partial

FEEDBACK_TO_CITE = 30


# --- versions -------------------------------------------------------------------------------


@require_GET
@marketer_required
def versions(request):
    rows = ModelVersion.objects.select_related("scoring_model", "created_by", "published_by").order_by(
        "-number"
    )
    return render(
        request,
        "models_review/versions.html",
        {
            "versions": rows,
            "active": rows.filter(is_active=True).first(),
            "drafts": rows.filter(status=ModelVersion.Status.DRAFT),
        },
    )


@require_GET
@marketer_required
def version_detail(request, pk):
    version = get_object_or_404(ModelVersion.objects.select_related("scoring_model"), pk=pk)
    return render(request, "models_review/version_detail.html", _version_context(version))


def _version_context(version, editor=None):
    context = {
        "version": version,
        "rules": version.rules.all(),
        "previews": version.previews.all()[:5],
        "cited": version.citations.select_related("feedback__lead"),
    }
    if not version.is_published:
        context["editor"] = editor or DraftEditor(
            version=version, feedback_choices=_feedback_choices(version)
        )
    return context


def _feedback_choices(version):
    recent = SalesFeedback.objects.order_by("-updated_at").values_list("pk", flat=True)[:FEEDBACK_TO_CITE]
    cited = version.citations.values_list("feedback_id", flat=True)
    return (
        SalesFeedback.objects.filter(pk__in=[*recent, *cited])
        .select_related("lead", "rep")
        .order_by("-updated_at")
    )


@require_POST
@marketer_required
def version_copy(request, pk):
    source = get_object_or_404(ModelVersion, pk=pk)
    drafts_before = set(
        source.scoring_model.versions.filter(status=ModelVersion.Status.DRAFT).values_list("pk", flat=True)
    )
    draft = services.draft_copy(source=source, by=request.user)
    if draft.pk in drafts_before:
        messages.info(
            request,
            f"Draft v{draft.number} is already in progress, so it is opened instead of making a second one.",
        )
    else:
        messages.success(
            request, f"Draft v{draft.number} copied from v{source.number}. Change it, write a note, publish."
        )
    return redirect("models_review:version", draft.pk)


@require_POST
@marketer_required
def version_save(request, pk):
    version = get_object_or_404(ModelVersion, pk=pk)
    editor = DraftEditor(request.POST, version=version, feedback_choices=_feedback_choices(version))
    if "_validate" in request.POST:
        return render(
            request, "models_review/_editor_errors.html", {"editor": editor, "valid": editor.is_valid()}
        )
    if not editor.is_valid():
        messages.error(request, "Nothing was saved: fix the fields marked below, then Save again.")
        return render(
            request, "models_review/version_detail.html", _version_context(version, editor), status=400
        )
    try:
        services.draft_save(version=version, **editor.changes())
    except services.DraftError as error:
        messages.error(request, f"Nothing was saved. {error}")
        return render(
            request, "models_review/version_detail.html", _version_context(version, editor), status=400
        )
    messages.success(
        request, f"Draft v{version.number} saved: settings and {len(editor.kept_rule_forms())} rules."
    )
    return redirect("models_review:version", version.pk)


@require_POST
@marketer_required
def version_publish(request, pk):
    version = get_object_or_404(ModelVersion, pk=pk)
    try:
        services.version_publish(version=version, by=request.user)
    except (services.DraftError, model_file.ModelFileError) as error:
        messages.error(request, f"Not published. {error}")
        return redirect("models_review:version", version.pk)
    # Worded to stay true once the run is done: the page it lands on shows the run's own state.
    messages.success(request, f"Version {version.number} is live. Every lead is recalculated under it.")
    return redirect(_after_publish_url(version))


def _after_publish_url(version):
    """The recalculation's progress page, or the version's own page when no run was queued."""
    run = RecalculationRun.objects.filter(version=version).order_by("-created_at", "-id").first()
    if run is not None:
        return reverse("models_review:recalculation", args=[run.pk])
    return reverse("models_review:version", args=[version.pk])


@require_POST
@marketer_required
def version_discard(request, pk):
    version = get_object_or_404(ModelVersion, pk=pk)
    try:
        services.draft_discard(version=version)
    except services.DraftError as error:
        messages.error(request, str(error))
        return redirect("models_review:version", version.pk)
    messages.success(request, f"Draft v{version.number} discarded.")
    return redirect("models_review:versions")


# --- the sheet ------------------------------------------------------------------------------


@require_GET
@marketer_required
def sheet(request):
    versions, rows = selectors.version_sheet()
    return render(request, "models_review/sheet.html", {"versions": versions, "rows": rows})


def csv_safe(value) -> str:
    # Rule points such as -10 are numbers, not formulas: keep them readable as numbers.
    return spreadsheet_cell(value, keep_numbers=True)


@require_GET
@marketer_required
def sheet_csv(request):
    versions, rows = selectors.version_sheet()
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="scoring-model-versions.csv"'
    writer = csv.writer(response)
    writer.writerow(["Row", *[f"v{v.number} ({v.get_status_display().lower()})" for v in versions]])
    writer.writerow(["Note", *[csv_safe(v.note) for v in versions]])
    writer.writerow(
        ["Author", *[csv_safe(v.created_by.get_username() if v.created_by else "") for v in versions]]
    )
    writer.writerow(["Published", *[v.published_at.isoformat() if v.published_at else "" for v in versions]])
    writer.writerow(
        ["Cites feedback", *[" ".join(f"#{c.feedback_id}" for c in v.citations.all()) for v in versions]]
    )
    for row in rows:
        writer.writerow([csv_safe(row.label), *[csv_safe(cell.value) for cell in row.cells]])
    return response


# --- preview --------------------------------------------------------------------------------


@require_POST
@marketer_required
def preview_start(request, pk):
    version = get_object_or_404(ModelVersion, pk=pk)
    try:
        run = services.preview_request(draft=version, by=request.user)
    except services.DraftError as error:
        messages.error(request, str(error))
        return redirect("models_review:version", version.pk)
    return redirect("models_review:preview", run.pk)


@require_GET
@marketer_required
def preview(request, pk):
    run = get_object_or_404(PreviewRun.objects.select_related("draft", "baseline"), pk=pk)
    context = {
        "run": run,
        "report": selectors.preview_report(run=run),
        "waiting_for_workers": services.preview_waiting_for_workers(run),
    }
    template = "models_review/_preview.html" if htmx_partial(request) else "models_review/preview.html"
    return render(request, template, context)


# --- sales feedback -------------------------------------------------------------------------


@require_GET
@login_required
def my_leads(request):
    form = MyLeadsFilterForm(request.GET)
    awaiting = form.is_valid() and form.cleaned_data["awaiting"]
    page = Paginator(selectors.rep_leads(user=request.user, awaiting=awaiting), 50).get_page(
        request.GET.get("page")
    )
    selectors.attach_feedback(leads=page.object_list, user=request.user)
    breakdowns = score_breakdowns(leads=list(page.object_list))
    for lead in page.object_list:
        lead.breakdown = breakdowns.get(lead.pk)
    context = {
        "page": page,
        "form": form,
        "awaiting": awaiting,
        "awaiting_count": selectors.rep_leads(user=request.user, awaiting=True).count(),
        "page_query": "awaiting=1&" if awaiting else "",
    }
    return render(request, "models_review/my_leads.html", context)


@login_required
def lead_feedback(request, pk):
    lead = get_object_or_404(
        visible_leads(request.user, Lead.objects.select_related("account", "owner")), pk=pk
    )
    feedback, errors = SalesFeedback.objects.filter(lead=lead, rep=request.user).first(), None
    if request.method == "POST":
        form = FeedbackForm(request.POST)
        if form.is_valid():
            feedback = services.feedback_record(lead=lead, rep=request.user, changes=form.changes())
            lead.refresh_from_db()
        else:
            errors = form.errors
    context = {
        "lead": lead,
        "feedback": feedback,
        "saved": request.method == "POST" and not errors,
        "errors": errors,
        "refused_form": form if errors else None,
    }
    if htmx_partial(request):
        # htmx swaps only 2xx answers, so a refused fragment still comes back as 200 with its errors
        quick = request.GET.get("quick")
        return render(
            request,
            "models_review/_quick_verdict.html" if quick else "models_review/_lead_feedback.html",
            context,
        )
    if request.method == "POST" and not errors:
        return redirect("models_review:lead_feedback", lead.pk)
    return render(request, "models_review/lead_feedback.html", context, status=400 if errors else 200)


@require_GET
@marketer_required
def feedback(request):
    form = FeedbackFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    rows = selectors.feedback_list(
        version_id=getattr(filters.get("version"), "pk", None),
        rep_id=getattr(filters.get("rep"), "pk", None),
        reason=filters.get("reason", ""),
    )
    page = Paginator(rows, 50).get_page(request.GET.get("page"))
    # A refused filter says which field is wrong (the form lists it) and is not a success.
    status = 400 if form.is_bound and not form.is_valid() else 200
    return render(request, "models_review/feedback.html", {"form": form, "page": page}, status=status)


# --- reviews --------------------------------------------------------------------------------


@marketer_required
def reviews(request):
    try:
        version = _review_version(request)
    except LookupError:
        return render(request, "models_review/reviews.html", {"version": None})
    form = ReviewForm(request.POST or None)
    checklist = selectors.review_checklist(version=version)
    if request.method == "POST" and form.is_valid():
        services.review_complete(
            version=version,
            by=request.user,
            answers=form.answers(),
            notes=form.cleaned_data["notes"],
            figures=checklist.figures(),
        )
        messages.success(request, "Review recorded. The next one is due in 90 days.")
        return redirect("models_review:reviews")
    return render(
        request,
        "models_review/reviews.html",
        {
            "version": version,
            "checklist": checklist,
            "form": form,
            "schedule": selectors.review_schedule(),
            "past_reviews": selectors.past_reviews(),
            "questions": dict(REVIEW_QUESTIONS),
            "good_lead_notes": selectors.good_lead_notes(version=version),
            "published": ModelVersion.objects.filter(status=ModelVersion.Status.PUBLISHED).order_by(
                "-number"
            ),
        },
    )


def _review_version(request):
    """The checklist is per version: the active one unless another published one is picked."""
    chosen = request.GET.get("version", "")
    if chosen.isascii() and chosen.isdigit() and len(chosen) < 19:
        return get_object_or_404(ModelVersion, pk=int(chosen), status=ModelVersion.Status.PUBLISHED)
    return active_version()
