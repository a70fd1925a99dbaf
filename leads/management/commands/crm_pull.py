import json

from django.core.management.base import BaseCommand, CommandError

from leads.crm.models import CrmConnection
from leads.crm.services import crm_pull


class Command(BaseCommand):
    help = "Pull closed won / lost deals from a CRM and record them as outcomes."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["hubspot", "salesforce"])
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, kind, **options):
        connection = CrmConnection.objects.filter(kind=kind).first()
        if connection is None:
            raise CommandError(f"kind: {kind} is not connected; run manage.py crm_connect {kind} first.")
        result = crm_pull(connection=connection)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict()))
            return
        self.stdout.write(f"{result.deals} new closed deals, {result.outcomes} outcomes recorded.")
        for error in result.errors:
            self.stdout.write(f"  {error}")
