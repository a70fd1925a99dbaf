from django.urls import path

from surveys import charts, public_views, views

app_name = "surveys"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("new/", views.survey_new, name="survey_new"),
    path("<int:pk>/", views.survey_detail, name="survey_detail"),
    path("<int:pk>/send/", views.survey_send, name="survey_send"),
    path("<int:pk>/retry/", views.survey_retry, name="survey_retry"),
    path("responses.csv", views.responses_export, name="export"),
    path("charts/trend/", charts.NpsTrendChart.as_view(), name="chart_trend"),
    path("charts/distribution/", charts.DistributionChart.as_view(), name="chart_distribution"),
    path("charts/engagement/", charts.EngagementChart.as_view(), name="chart_engagement"),
    # Public pages: no sign-in.
    path("r/<str:token>/", public_views.respond, name="respond"),
    path("r/<str:token>/thanks/", public_views.respond_thanks, name="respond_thanks"),
    path("s/<str:public_token>/", public_views.public_respond, name="public"),
    path("s/<str:public_token>/thanks/", public_views.thanks, name="thanks"),
]
