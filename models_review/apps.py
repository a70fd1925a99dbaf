from django.apps import AppConfig


class ModelsReviewConfig(AppConfig):
    name = "models_review"
    verbose_name = "Scoring models and reviews"

    def ready(self):
        from models_review.learning import outcomes

        outcomes.register()
