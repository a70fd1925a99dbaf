from django.core.management.base import BaseCommand, CommandError

from leads.crm.services import CrmSettingsError, connection_save


class Command(BaseCommand):
    help = (
        "Connect a CRM. hubspot --token TOKEN [--base-url URL]; salesforce --instance-url URL "
        "(--session-id ID | --client-id KEY --client-secret SECRET). The secret is stored encrypted "
        "and never printed."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=["hubspot", "salesforce"])
        parser.add_argument("--token", default="", help="HubSpot private-app access token")
        parser.add_argument("--base-url", default="", help="HubSpot API host (sandbox, proxy)")
        parser.add_argument("--instance-url", default="", help="Salesforce instance (My Domain) URL")
        parser.add_argument("--session-id", default="", help="Salesforce session id / access token")
        parser.add_argument("--client-id", default="", help="Salesforce connected app consumer key")
        parser.add_argument("--client-secret", default="", help="Salesforce connected app consumer secret")
        parser.add_argument("--score-delta", type=float, default=None, help="Smallest score change pushed")
        parser.add_argument("--calls-per-10s", type=int, default=None, help="HubSpot calls per 10 seconds")

    def handle(self, *args, kind, **options):
        if kind == "hubspot":
            secret, base_url, client_id = options["token"], options["base_url"], ""
            if not secret:
                raise CommandError("--token: HubSpot needs a private-app access token.")
        else:
            base_url, client_id = options["instance_url"], options["client_id"]
            if bool(options["session_id"]) == bool(client_id):
                raise CommandError(
                    "--session-id or --client-id with --client-secret: give exactly one way in."
                )
            if client_id and not options["client_secret"]:
                raise CommandError("--client-secret: needed with --client-id.")
            secret = options["session_id"] or options["client_secret"]
        try:
            connection = connection_save(
                kind=kind,
                secret=secret,
                base_url=base_url,
                client_id=client_id,
                score_delta=options["score_delta"],
                calls_per_window=options["calls_per_10s"],
            )
        except CrmSettingsError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{connection} connected (secret {connection.secret_hint} stored encrypted).")
