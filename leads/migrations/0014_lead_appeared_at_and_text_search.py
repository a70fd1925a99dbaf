"""`Lead.appeared_at` (the earlier of creation and first event), backfilled in one statement,
then indexed; the score indexes with the id tie-break; trigram indexes for the lead list's
text search on PostgreSQL."""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce, Least

# Django's icontains on PostgreSQL compares UPPER(column::text) LIKE UPPER(%…%): the indexes
# are on that expression. Outside the model state (SQLite has no trigram index), so
# makemigrations never sees them; SQLite searches by scanning, as before.
TRIGRAM_INDEXES = (
    ("lead_email_trgm_idx", "leads_lead", "email"),
    ("lead_name_trgm_idx", "leads_lead", "name"),
    ("account_name_trgm_idx", "leads_account", "name"),
)


def appeared_at_backfill(apps, schema_editor):
    Lead, Event = apps.get_model("leads", "Lead"), apps.get_model("leads", "Event")
    first_event = Event.objects.filter(lead=OuterRef("pk")).order_by("occurred_at").values("occurred_at")[:1]
    Lead.objects.update(appeared_at=Least("created_at", Coalesce(Subquery(first_event), "created_at")))


def trigram_indexes_create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )
    # Statistics for the new column and expressions now: without them the planner guesses
    # that most leads appeared recently and scans the table instead of the index.
    schema_editor.execute("ANALYZE leads_lead")


def trigram_indexes_drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _, _ in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0013_csv_import_in_background"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="appeared_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        # Before the index: a million rows rewritten once, not also an index grown row by row.
        migrations.RunPython(appeared_at_backfill, migrations.RunPython.noop, elidable=True),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["appeared_at"], name="lead_appeared_idx"),
        ),
        # The score indexes end with the id, the lead list's tie-break (see filters.SORTS).
        migrations.RemoveIndex(model_name="lead", name="lead_stage_score_idx"),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["stage", "-score", "id"], name="lead_stage_score_idx"),
        ),
        migrations.RemoveIndex(model_name="lead", name="lead_score_idx"),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(fields=["-score", "id"], name="lead_score_idx"),
        ),
        TrigramExtension(),  # a no-op outside PostgreSQL
        migrations.RunPython(trigram_indexes_create, trigram_indexes_drop),
    ]
