from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leads.ingest.imports import COLUMNS, CsvFileError, csv_check, csv_decode, csv_import


class Command(BaseCommand):
    help = (
        "Import leads, accounts or events from a CSV file (first line names the columns). "
        "Rows with errors are reported by line and skipped; importing the same file again "
        "creates nothing twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=list(COLUMNS))
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--dry-run", action="store_true", help="Check and report without storing anything."
        )

    def handle(self, *args, kind, file, dry_run, **options):
        try:
            checked = csv_check(kind=kind, text=csv_decode(file.read_bytes()))
        except OSError as problem:
            raise CommandError(f"file: cannot read {file}: {problem.strerror}") from None
        except CsvFileError as problem:
            raise CommandError(str(problem)) from None
        for error in checked.errors:
            self.stderr.write(f"line {error['line']}: {error['field']}: {error['reason']}")
        if checked.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(checked.ignored_columns)}")
        if dry_run:
            self.stdout.write(f"{len(checked.rows)} valid rows, {len(checked.errors)} with errors (dry run).")
            return
        report = csv_import(checked=checked, source=f"csv:{file.name}"[:100])
        self.stdout.write(
            f"{report.imported} imported ({report.created} new, {report.updated} updated), "
            f"{report.duplicates} already known, {len(checked.errors)} rows with errors."
        )
