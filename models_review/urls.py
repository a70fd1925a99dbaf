from django.urls import path

from models_review import charts, views, views_learning, views_recalculation

app_name = "models_review"
urlpatterns = [
    path("", views.versions, name="versions"),
    path("versions/<int:pk>/", views.version_detail, name="version"),
    path("versions/<int:pk>/copy/", views.version_copy, name="version_copy"),
    path("versions/<int:pk>/save/", views.version_save, name="version_save"),
    path("versions/<int:pk>/publish/", views.version_publish, name="version_publish"),
    path("versions/<int:pk>/discard/", views.version_discard, name="version_discard"),
    path("versions/<int:pk>/preview/", views.preview_start, name="preview_start"),
    path("previews/<int:pk>/", views.preview, name="preview"),
    path(
        "previews/<int:pk>/distribution.json", charts.PreviewDistributionChart.as_view(), name="preview_chart"
    ),
    path("sheet/", views.sheet, name="sheet"),
    path("sheet.csv", views.sheet_csv, name="sheet_csv"),
    path("feedback/", views.feedback, name="feedback"),
    path("my-leads/", views.my_leads, name="my_leads"),
    path("leads/<int:pk>/feedback/", views.lead_feedback, name="lead_feedback"),
    path("reviews/", views.reviews, name="reviews"),
    path("suggestions/", views_learning.suggestions, name="suggestions"),
    path("suggestions/learn/", views_learning.suggestion_start, name="suggestion_start"),
    path("suggestions/<int:pk>/draft/", views_learning.suggestion_draft, name="suggestion_draft"),
    path(
        "suggestions/<int:pk>/calibration.json",
        charts.LearningCalibrationChart.as_view(),
        name="suggestion_calibration_chart",
    ),
    path("suggestions/<int:pk>/lift.json", charts.LearningLiftChart.as_view(), name="suggestion_lift_chart"),
    path("recalculations/<int:pk>/", views_recalculation.recalculation, name="recalculation"),
]
