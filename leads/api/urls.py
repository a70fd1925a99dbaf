from django.urls import path

from leads.api import read, tracking

app_name = "api"
urlpatterns = [
    path("identify", tracking.identify, name="identify"),
    path("track", tracking.track, name="track"),
    path("page", tracking.page, name="page"),
    path("screen", tracking.screen, name="screen"),
    path("group", tracking.group, name="group"),
    path("alias", tracking.alias, name="alias"),
    path("batch", tracking.batch, name="batch"),
    path("import", tracking.batch, name="import"),  # Segment's alias of /batch
    path("leads/<str:email>", read.lead_detail, name="lead"),
    path("accounts/<str:domain>", read.account_detail, name="account"),
]
