from django.urls import path

from models_review import views_recalculation

app_name = "models_review"
urlpatterns = [
    path("recalculations/<int:pk>/", views_recalculation.recalculation, name="recalculation"),
]
