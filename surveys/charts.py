"""django-chartjs views for the NPS dashboard, fed by selectors (plain ints and floats)."""

from chartjs.views.base import JSONView
from chartjs.views.lines import BaseLineChartView
from django.utils.decorators import method_decorator

from leads.roles import marketer_required
from surveys import selectors
from surveys.views import selected_survey


@method_decorator(marketer_required, name="dispatch")
class NpsTrendChart(BaseLineChartView):
    def get_context_data(self, **kwargs):
        self.months = selectors.nps_trend(survey=selected_survey(self.request))
        return super().get_context_data(**kwargs)

    def get_labels(self):
        return [month.label for month in self.months]

    def get_providers(self):
        return ["NPS", "Answers"]

    def get_data(self):
        nps = [None if m.summary.nps is None else round(m.summary.nps, 1) for m in self.months]
        return [nps, [m.summary.total for m in self.months]]


@method_decorator(marketer_required, name="dispatch")
class DistributionChart(BaseLineChartView):
    def get_labels(self):
        return [str(score) for score in range(11)]

    def get_providers(self):
        return ["Answers"]

    def get_data(self):
        return [selectors.score_distribution(survey=selected_survey(self.request))]


@method_decorator(marketer_required, name="dispatch")
class EngagementChart(JSONView):
    """Scatter points: x = NPS answer, y = points earned in the last 90 days."""

    def get_context_data(self, **kwargs):
        view = selectors.engagement_vs_nps_cached(survey=selected_survey(self.request))
        points = {"promoter": [], "passive": [], "detractor": []}
        for row in view.measured:
            points[row.group].append({"x": row.score, "y": round(row.engagement, 1)})
        return {
            "datasets": [{"label": group.capitalize() + "s", "data": data} for group, data in points.items()]
        }
