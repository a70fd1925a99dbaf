from django.urls import path

from leads import views

app_name = "leads"
urlpatterns = [
    path("<int:pk>/", views.lead_detail, name="detail"),
]

from leads import status_views  # noqa: E402  (issue 4: background job status)

urlpatterns += [
    path("status/", status_views.status, name="status"),
]
