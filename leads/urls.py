from django.contrib.auth.decorators import login_required
from django.urls import path

from leads.background import views as status_views
from leads.crm import views as crm_views
from leads.ingest import import_views
from leads.roles import marketer_required
from leads.workspace import charts, settings_views, views

app_name = "leads"
urlpatterns = [
    path("<int:pk>/", views.lead_detail, name="detail"),
    path("", views.lead_list, name="list"),
    path("bulk/", views.lead_bulk, name="bulk"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path(
        "dashboard/charts/stages.json",
        marketer_required(charts.StagesPerDayChart.as_view()),
        name="chart_stages",
    ),
    path(
        "dashboard/charts/scores.json",
        marketer_required(charts.ScoreHistogramChart.as_view()),
        name="chart_scores",
    ),
    path(
        "dashboard/charts/forecast.json",
        marketer_required(charts.ForecastChart.as_view()),
        name="chart_forecast",
    ),
    path("tally/", views.tally_report, name="tally"),
    path("<int:pk>/chart.json", login_required(charts.LeadScoreChart.as_view()), name="chart_lead"),
    path("<int:pk>/tags/", views.lead_tags, name="tags"),
    path("<int:pk>/adjust/", views.lead_adjust, name="adjust"),
    path("<int:pk>/disqualify/", views.lead_disqualify_view, name="disqualify"),
    path("accounts/", views.accounts, name="accounts"),
    path("accounts/<int:pk>/", views.account_detail, name="account"),
    path("accounts/buying-roles/", views.buying_roles, name="buying_roles"),
    path(
        "accounts/<int:pk>/chart.json",
        login_required(charts.AccountScoreChart.as_view()),
        name="chart_account",
    ),
    path("segments/", views.segments, name="segments"),
    path("segments/<int:pk>/", views.segment_detail, name="segment"),
    path("segments/<int:pk>/edit/", views.segment_edit, name="segment_edit"),
    path("segments/<int:pk>/delete/", views.segment_remove, name="segment_delete"),
    path("segments/<int:pk>/members.csv", views.segment_export, name="segment_export"),
    path("imports/", import_views.imports, name="imports"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/import", import_views.import_run, name="import_run"),
    path("status/", status_views.status, name="status"),
    path("settings/", settings_views.settings_index, name="settings"),
    path("settings/write-keys/", settings_views.write_keys, name="settings_write_keys"),
    path(
        "settings/write-keys/<int:pk>/disable/",
        settings_views.write_key_disable,
        name="settings_write_key_disable",
    ),
    path("settings/webhooks/", settings_views.webhooks, name="settings_webhooks"),
    path("settings/webhooks/<int:pk>/", settings_views.webhook_edit, name="settings_webhook"),
    path("settings/webhooks/<int:pk>/toggle/", settings_views.webhook_toggle, name="settings_webhook_toggle"),
    path("settings/daily-report/", settings_views.subscriptions, name="settings_subscriptions"),
    path("settings/users/", settings_views.users, name="settings_users"),
    path(
        "settings/users/<int:pk>/deactivate/", settings_views.user_deactivate, name="settings_user_deactivate"
    ),
    path("settings/failed-jobs/", settings_views.failed_jobs, name="settings_failed_jobs"),
    path("crm/", crm_views.crm_index, name="crm"),
    path("crm/<str:kind>/", crm_views.crm_sync, name="crm_sync"),
    path("crm/<str:kind>/properties", crm_views.crm_properties_create, name="crm_properties"),
    path("crm/<str:kind>/push", crm_views.crm_push_now, name="crm_push_now"),
]
