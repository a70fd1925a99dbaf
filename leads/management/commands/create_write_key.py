from django.core.management.base import BaseCommand, CommandError

from leads.ingest.credentials import write_key_create
from leads.models import WriteKey


class Command(BaseCommand):
    help = (
        "Create a write key for a tracking source. The key is the last word printed; it is not shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="The source, e.g. Website")

    def handle(self, *args, name, **options):
        if WriteKey.objects.filter(name=name.strip()).exists():
            raise CommandError(f"name: a write key named {name!r} already exists.")
        try:
            key, secret = write_key_create(name=name)
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"Write key for source “{key.name}” (send it as the HTTP Basic username): {secret}")
