"""Chart.js data for previews (django-chartjs views fed by selectors; plain ints only)."""

from chartjs.views.lines import BaseLineChartView
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator

from leads.roles import marketer_required
from models_review.models import PreviewRun
from models_review.selectors import preview_report

LIVE_COLOUR, DRAFT_COLOUR = (148, 163, 184), (37, 99, 235)


@method_decorator(marketer_required, name="dispatch")
class PreviewDistributionChart(BaseLineChartView):
    """Leads per score band, live version next to the draft."""

    def dispatch(self, request, *args, **kwargs):
        self.run = get_object_or_404(PreviewRun.objects.select_related("draft", "baseline"), pk=kwargs["pk"])
        self.report = preview_report(run=self.run) or {"bucket_rows": []}
        return super().dispatch(request, *args, **kwargs)

    def get_labels(self):
        return [row.label for row in self.report["bucket_rows"]]

    def get_providers(self):
        return [f"Live v{self.run.baseline.number}", f"Draft v{self.run.draft.number}"]

    def get_data(self):
        rows = self.report["bucket_rows"]
        return [[int(row.active) for row in rows], [int(row.draft) for row in rows]]

    def get_colors(self):
        return iter([LIVE_COLOUR, DRAFT_COLOUR])
