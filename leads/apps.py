from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"
    verbose_name = "Leads and events"

    def ready(self):
        from leads.db import lookups  # noqa: F401  (registers field__any_of)
