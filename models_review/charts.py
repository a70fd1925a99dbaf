"""Chart.js data for previews (django-chartjs views fed by selectors; plain ints only)."""

from chartjs.views.lines import BaseLineChartView
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator

from leads.roles import marketer_required
from models_review.learning.selectors import lift_rows
from models_review.models import LearningRun, PreviewRun
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


class _LearningChart(BaseLineChartView):
    def dispatch(self, request, *args, **kwargs):
        self.run = get_object_or_404(LearningRun, pk=kwargs["pk"])
        holdout = (self.run.result or {}).get("holdout") or {}
        self.table = holdout.get("calibration") or []
        return super().dispatch(request, *args, **kwargs)

    def get_labels(self):
        return [f"Decile {row['decile']}" for row in self.table]


@method_decorator(marketer_required, name="dispatch")
class LearningCalibrationChart(_LearningChart):
    """Holdout deciles by prediction: the mean predicted probability next to the observed rate (%)."""

    def get_providers(self):
        return ["Predicted %", "Observed %"]

    def get_data(self):
        return [
            [round(100 * row["predicted"], 1) for row in self.table],
            [round(100 * row["observed"], 1) for row in self.table],
        ]

    def get_colors(self):
        return iter([LIVE_COLOUR, DRAFT_COLOUR])


@method_decorator(marketer_required, name="dispatch")
class LearningLiftChart(_LearningChart):
    """Lift per holdout decile: its positive rate over the holdout's (1 = no better than chance)."""

    def get_providers(self):
        return ["Lift"]

    def get_data(self):
        return [[float(row["lift"]) for row in lift_rows(self.run)]]

    def get_colors(self):
        return iter([DRAFT_COLOUR])
