from django.urls import path

from leads import api

app_name = "api"
urlpatterns = [
    path("identify", api.identify, name="identify"),
    path("track", api.track, name="track"),
    path("page", api.page, name="page"),
    path("screen", api.screen, name="screen"),
    path("group", api.group, name="group"),
    path("alias", api.alias, name="alias"),
    path("batch", api.batch, name="batch"),
    path("import", api.batch, name="import"),  # Segment's alias of /batch
    path("leads/<str:email>", api.lead_detail, name="lead"),
    path("accounts/<str:domain>", api.account_detail, name="account"),
]
