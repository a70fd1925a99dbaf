import json

from django.core.management.base import BaseCommand, CommandError

from leads.crm.models import CrmConnection
from leads.crm.services import crm_push, push_preview


class Command(BaseCommand):
    help = "Push changed leads' scores, stages and reasons to a CRM now (or show what would be sent)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["hubspot", "salesforce"])
        parser.add_argument("--dry-run", action="store_true", help="Send nothing; show the next batch")
        parser.add_argument("--json", action="store_true", help="Print the counts as JSON")

    def handle(self, *args, kind, dry_run, **options):
        connection = CrmConnection.objects.filter(kind=kind).first()
        if connection is None:
            raise CommandError(f"kind: {kind} is not connected; run manage.py crm_connect {kind} first.")
        result = push_preview(connection=connection) if dry_run else crm_push(connection=connection)
        if options["json"]:
            self.stdout.write(json.dumps(result.as_dict(), default=str))
            return
        self.stdout.write(
            f"{'Would send' if dry_run else 'Sent'} {result.pending if dry_run else result.sent} leads in "
            f"{result.batches} batches; {result.failed} failed; {result.pending} pending."
        )
        for error in result.errors:
            self.stdout.write(f"  {error}")
