import json

from django.core.management.base import BaseCommand, CommandError

from models_review.models import ModelVersion
from models_review.services import version_export


class Command(BaseCommand):
    help = "Print a scoring model version as a model file (SPEC §2a); the active one by default."

    def create_parser(self, prog_name, subcommand, **kwargs):
        # SPEC §2a names the flag --version; it replaces Django's "print Django's version".
        return super().create_parser(prog_name, subcommand, conflict_handler="resolve", **kwargs)

    def add_arguments(self, parser):
        parser.add_argument(
            "--version", type=int, dest="number", help="Version number (default: the active one)."
        )
        parser.add_argument("--model", default=None, help="Model name, when there are several.")

    def handle(self, *args, number, model, **options):
        versions = ModelVersion.objects.all()
        if model:
            versions = versions.filter(scoring_model__name=model)
        version = (
            versions.filter(number=number).first() if number else versions.filter(is_active=True).first()
        )
        if version is None:
            raise CommandError(f"No version {number}." if number else "No active version.")
        self.stdout.write(json.dumps(version_export(version=version), indent=2))
