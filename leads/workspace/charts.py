"""Chart.js data for the workspace, as django-chartjs views fed by selectors.

Each view answers {labels, datasets}; the page decides the chart type. Access is checked
by the decorators in leads/urls.py, exactly as for the pages that embed the charts."""

from chartjs.views.lines import BaseLineChartView
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404

from leads.models import Account, Lead, Stage
from leads.roles import visible_accounts, visible_leads
from leads.workspace import selectors
from leads.workspace.forms import DashboardFilterForm, first_error

STAGE_COLOURS = {
    Stage.STAGE_1: (148, 163, 184),
    Stage.STAGE_2: (96, 165, 250),
    Stage.STAGE_3: (37, 99, 235),
    Stage.SALES_READY: (5, 150, 105),
    Stage.OPPORTUNITY: (217, 119, 6),
    Stage.CUSTOMER: (124, 58, 237),
    Stage.DISQUALIFIED: (220, 38, 38),
}
BRAND = (37, 99, 235)


class WorkspaceChart(BaseLineChartView):
    """Only labels and datasets go out: TemplateView's context (the view object) stays home."""

    def get_context_data(self, **kwargs):
        return {"labels": self.get_labels(), "datasets": self.get_datasets()}

    def get_dataset_options(self, index, color):
        color = self.colours()[index] if index < len(self.colours()) else color
        red, green, blue = color
        return {
            "backgroundColor": f"rgba({red}, {green}, {blue}, 0.75)",
            "borderColor": f"rgba({red}, {green}, {blue}, 1)",
            "pointBackgroundColor": f"rgba({red}, {green}, {blue}, 1)",
            "borderWidth": 2,
            "pointRadius": 2,
        }

    def colours(self):
        return [BRAND]


class DashboardChart(WorkspaceChart):
    def dispatch(self, request, *args, **kwargs):
        form = DashboardFilterForm(request.GET)
        if not form.is_valid():
            return JsonResponse({"error": first_error(form)}, status=400)
        self.period, self.segment = form.cleaned_data["period"], form.cleaned_data.get("segment")
        return super().dispatch(request, *args, **kwargs)


class StagesPerDayChart(DashboardChart):
    """Stacked leads per stage per day, from the daily snapshots."""

    def get(self, request, *args, **kwargs):
        self.labels, self.series = selectors.snapshot_series(
            period=self.period, leads=selectors.segment_leads(self.segment)
        )
        return super().get(request, *args, **kwargs)

    def get_labels(self):
        return self.labels

    def get_providers(self):
        return [selectors.stage_label(stage) for stage in self.series]

    def get_data(self):
        return list(self.series.values())

    def colours(self):
        return [STAGE_COLOURS.get(stage, BRAND) for stage in self.series]


class ScoreHistogramChart(DashboardChart):
    def get(self, request, *args, **kwargs):
        leads = selectors.segment_leads(self.segment)
        self.labels, self.counts = selectors.score_histogram(
            leads=leads, segment_key=str(self.segment.pk) if self.segment else "-"
        )
        return super().get(request, *args, **kwargs)

    def get_labels(self):
        return self.labels

    def get_providers(self):
        return ["Leads"]

    def get_data(self):
        return [self.counts]


class ForecastChart(DashboardChart):
    """Leads in each stage now against those expected to move on within 30 days."""

    def get(self, request, *args, **kwargs):
        self.board = selectors.stage_dashboard(period=self.period, segment=self.segment)
        return super().get(request, *args, **kwargs)

    def get_labels(self):
        return [v.label for v in self.board.velocity]

    def get_providers(self):
        return ["In stage now", "Expected to move on in 30 days"]

    def get_data(self):
        return [[v.now for v in self.board.velocity], [v.forecast for v in self.board.velocity]]

    def colours(self):
        return [(148, 163, 184), (5, 150, 105)]


class LeadScoreChart(WorkspaceChart):
    def get(self, request, *args, **kwargs):
        lead = get_object_or_404(visible_leads(request.user, Lead.objects.all()), pk=kwargs["pk"])
        self.points = selectors.lead_score_series(lead=lead)
        return super().get(request, *args, **kwargs)

    def get_labels(self):
        return [at[:16].replace("T", " ") for at, _ in self.points]

    def get_providers(self):
        return ["Sales-readiness score"]

    def get_data(self):
        return [[score for _, score in self.points]]


class AccountScoreChart(WorkspaceChart):
    def get(self, request, *args, **kwargs):
        account = get_object_or_404(visible_accounts(request.user, Account.objects.all()), pk=kwargs["pk"])
        self.points = selectors.account_score_series(account=account)
        if not account.member_count and not self.points:
            raise Http404
        return super().get(request, *args, **kwargs)

    def get_labels(self):
        return [day for day, _ in self.points]

    def get_providers(self):
        return ["Account score"]

    def get_data(self):
        return [[score for _, score in self.points]]
