from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from django.views.static import serve

from leads.workspace import views as workspace_views
from scoring_site import rq_dashboard
from scoring_site.health import health
from scoring_site.signin import SignInView

urlpatterns = [
    path("", workspace_views.home, name="home"),
    path("signin/", SignInView.as_view(), name="login"),
    path("signout/", auth_views.LogoutView.as_view(), name="logout"),
    path("leads/", include("leads.urls")),
    path("model/", include("models_review.urls")),
    path("surveys/", include("surveys.urls")),
    path("api/v1/", include("leads.api.urls")),
    path("admin/rq/", include(rq_dashboard.urlpatterns())),
    path("admin/", admin.site.urls),
    path("health/", health, name="health"),
    re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
]

handler500 = "scoring_site.errors.server_error"
