from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("<int:pk>/", views.lead_detail, name="detail"),
]

from leads import import_views  # noqa: E402

urlpatterns += [
    path("imports/", import_views.imports, name="imports"),
    path("imports/<int:pk>/", import_views.import_detail, name="import_detail"),
    path("imports/<int:pk>/import", import_views.import_run, name="import_run"),
]
