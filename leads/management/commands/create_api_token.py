from django.core.management.base import BaseCommand, CommandError

from leads.ingest.credentials import api_token_create
from leads.roles import is_marketer


class Command(BaseCommand):
    help = (
        "Create a read-API token (Authorization: Bearer …) for USERNAME, who is created as a marketer "
        "if missing. The token is the last word printed; it is not shown again."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="", help="What will use the token, e.g. CRM sync")

    def handle(self, *args, username, name, **options):
        if not username.strip():
            raise CommandError("username: give the marketer's username.")
        token, secret, created = api_token_create(username=username.strip(), name=name)
        if not is_marketer(token.user):
            token.delete()
            raise CommandError(f"username: {username} is not a marketer; the read API is for marketers.")
        who = f"new marketer {token.user.username}" if created else token.user.username
        self.stdout.write(f"API token for {who}: {secret}")
