import json

from django.core.management.base import BaseCommand, CommandError

from models_review.model_file import ModelFileError
from models_review.services import version_import


class Command(BaseCommand):
    help = "Create a scoring model version from a model file (SPEC §2a); --publish makes it active."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--publish", action="store_true")

    def handle(self, *args, file, publish, **options):
        try:
            with open(file, encoding="utf-8") as handle:
                data = json.load(handle)
        except OSError as error:
            raise CommandError(f"{file}: cannot read ({error.strerror})") from error
        except json.JSONDecodeError as error:
            raise CommandError(
                f"{file}: not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})"
            ) from None
        try:
            version = version_import(data=data, publish=publish)
        except ModelFileError as error:
            raise CommandError(f"{file}: nothing imported.\n  " + "\n  ".join(error.errors)) from None
        state = "published and active" if version.is_published else "saved as a draft"
        self.stdout.write(f"{version.scoring_model.name} version {version.number} {state}.")
