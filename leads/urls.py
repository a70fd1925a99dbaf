from django.contrib.auth.decorators import login_required
from django.urls import path

from leads import charts, views, workspace_views
from leads.roles import marketer_required

app_name = "leads"
urlpatterns = [
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("", workspace_views.lead_list, name="list"),
    path("dashboard/", workspace_views.dashboard, name="dashboard"),
    path("dashboard/charts/stages.json", marketer_required(charts.StagesPerDayChart.as_view()), name="chart_stages"),
    path("dashboard/charts/scores.json", marketer_required(charts.ScoreHistogramChart.as_view()), name="chart_scores"),
    path("dashboard/charts/forecast.json", marketer_required(charts.ForecastChart.as_view()), name="chart_forecast"),
    path("tally/", workspace_views.tally_report, name="tally"),
    path("<int:pk>/chart.json", login_required(charts.LeadScoreChart.as_view()), name="chart_lead"),
    path("<int:pk>/tags/", workspace_views.lead_tags, name="tags"),
    path("<int:pk>/adjust/", workspace_views.lead_adjust, name="adjust"),
    path("accounts/", workspace_views.accounts, name="accounts"),
    path("accounts/<int:pk>/", workspace_views.account_detail, name="account"),
    path("accounts/<int:pk>/chart.json", marketer_required(charts.AccountScoreChart.as_view()), name="chart_account"),
    path("segments/", workspace_views.segments, name="segments"),
    path("segments/<int:pk>/", workspace_views.segment_detail, name="segment"),
    path("segments/<int:pk>/members.csv", workspace_views.segment_export, name="segment_export"),
]

from leads import import_views  # noqa: E402

urlpatterns += [
    path("imports/", import_views.imports, name="imports"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/import", import_views.import_run, name="import_run"),
]

from leads import status_views  # noqa: E402  (issue 4: background job status)

urlpatterns += [
    path("status/", status_views.status, name="status"),
]
