"""Marketer pages: the NPS dashboard, surveys, sending, the CSV export."""

import csv

from django.contrib import messages
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from leads.roles import marketer_required
from leads.workspace.spreadsheet import spreadsheet_cell
from surveys import selectors, services
from surveys.forms import SendForm, SurveyForm
from surveys.models import Survey

QUEUE_DOWN = (
    "The invitations are saved and queued. The job queue is not reachable right now, so they are "
    "sent when the background workers are back. Nothing is lost: they go out on their own."
)


def selected_survey(request):
    raw = request.GET.get("survey", "")
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        raise Http404("survey: not a survey id")
    return get_object_or_404(Survey, pk=raw)


@marketer_required
def dashboard(request):
    survey = selected_survey(request)
    return render(
        request,
        "surveys/dashboard.html",
        {
            "survey": survey,
            "surveys": selectors.survey_list(),
            "summary": selectors.nps_summary(survey=survey),
            "rate": selectors.response_rate(survey=survey),
            "by_account": selectors.nps_by_account(survey=survey),
            "by_segment": selectors.nps_by_segment(survey=survey),
            "follow_ups": selectors.follow_up_answers(survey=survey),
            "engagement": selectors.engagement_vs_nps_cached(survey=survey),
            "trend": selectors.trend_range(survey=survey),
            "query": f"?survey={survey.pk}" if survey else "",
        },
    )


@marketer_required
def survey_new(request):
    form = SurveyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        survey = services.survey_create(by=request.user, **form.cleaned_data)
        messages.success(request, f"Survey “{survey.name}” created. Now choose who receives it.")
        return redirect("surveys:survey_detail", survey.pk)
    return render(request, "surveys/survey_form.html", {"form": form})


@marketer_required
def survey_detail(request, pk):
    return _detail_page(request, get_object_or_404(Survey, pk=pk), SendForm(), status=200)


def _detail_page(request, survey, send_form, *, status):
    counts = selectors.invitation_counts(survey=survey)
    return render(
        request,
        "surveys/survey_detail.html",
        {
            "survey": survey,
            "send_form": send_form,
            "counts": counts,
            "pending": counts.pending,
            "waiting_for_workers": services.invitations_waiting_for_workers(survey_id=survey.pk),
            "summary": selectors.nps_summary(survey=survey),
            "rate": selectors.response_rate(survey=survey),
            "public_url": request.build_absolute_uri(reverse("surveys:public", args=[survey.public_token])),
        },
        status=status,
    )


@require_POST
@marketer_required
def survey_send(request, pk):
    survey = get_object_or_404(Survey, pk=pk)
    form = SendForm(request.POST)
    if not form.is_valid():
        return _detail_page(request, survey, form, status=400)
    batch = services.invitations_create(survey=survey, leads=form.leads())
    messages.success(
        request,
        f"{batch.invited} invitation{'s' if batch.invited != 1 else ''} created; "
        f"{batch.throttled} skipped (surveyed in the last {survey.throttle_days} days), "
        f"{batch.without_email} without an email address.",
    )
    if batch.invited:
        services.invitations_queue(survey_id=survey.pk)
        if services.invitations_waiting_for_workers(survey_id=survey.pk):
            messages.warning(request, QUEUE_DOWN)
    return redirect("surveys:survey_detail", survey.pk)


@require_POST
@marketer_required
def survey_retry(request, pk):
    survey = get_object_or_404(Survey, pk=pk)
    services.invitations_queue(survey_id=survey.pk)
    if services.invitations_waiting_for_workers(survey_id=survey.pk):
        messages.warning(request, QUEUE_DOWN)
    else:
        messages.success(request, "Pending invitations are on their way to the mail queue.")
    return redirect("surveys:survey_detail", survey.pk)


class _Echo:
    def write(self, value):
        return value


CSV_HEADER = [
    "answered_at",
    "survey",
    "score",
    "group",
    "reason",
    "channel",
    "lead_email",
    "lead_name",
    "account",
]


@marketer_required
def responses_export(request):
    survey = selected_survey(request)
    rows = (
        selectors.responses(survey=survey)
        .select_related("survey", "lead__account")
        .order_by("answered_at", "id")
        .iterator(chunk_size=2000)
    )
    writer = csv.writer(_Echo())
    lines = (writer.writerow([safe_cell(cell) for cell in row]) for row in _csv_rows(rows))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d")
    response["Content-Disposition"] = f'attachment; filename="nps-responses-{stamp}.csv"'
    return response


def _csv_rows(responses):
    yield CSV_HEADER
    for r in responses:
        lead = r.lead
        yield [
            r.answered_at.isoformat(),
            r.survey.name,
            r.score,
            r.group,
            r.reason,
            r.channel,
            lead.email if lead else "",
            lead.name if lead else "",
            lead.account.name if lead and lead.account else "",
        ]


safe_cell = spreadsheet_cell
