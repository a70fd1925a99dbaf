"""Fewer index writes per ingested event (issue 3): drop indexes another index already
covers, and leave room in lead pages so a score update that changes no indexed column is a
HOT update (no index entries at all) on PostgreSQL.

SQLite alters a column by rebuilding the table, which drops its triggers: the events'
immutability trigger of 0002 is created again afterwards, in either direction."""
import importlib
import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


SQLITE_EVENT_TRIGGER = importlib.import_module("leads.migrations.0002_event_immutable_and_roles").SQLITE_FORWARD
FORWARD = {"postgresql": "ALTER TABLE leads_lead SET (fillfactor = 70)", "sqlite": SQLITE_EVENT_TRIGGER}
BACKWARD = {"postgresql": "ALTER TABLE leads_lead RESET (fillfactor)"}


def _run(sql_by_vendor):
    def run(apps, schema_editor):
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        if sql:
            schema_editor.execute(sql)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('leads', '0006_background_jobs'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # Reversed last, after the backward table rebuilds.
        migrations.RunPython(migrations.RunPython.noop, _run({"sqlite": SQLITE_EVENT_TRIGGER})),
        migrations.AlterField(
            model_name='event',
            name='idempotency_key',
            field=models.CharField(default=uuid.uuid4, max_length=200),
        ),
        migrations.AlterField(
            model_name='event',
            name='lead',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='events', to='leads.lead'),
        ),
        migrations.AlterField(
            model_name='lead',
            name='account',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='leads', to='leads.account'),
        ),
        migrations.AlterField(
            model_name='lead',
            name='owner',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='owned_leads', to=settings.AUTH_USER_MODEL),
        ),
        migrations.AddConstraint(
            model_name='event',
            constraint=models.UniqueConstraint(fields=('idempotency_key',), name='event_idempotency_key_unique'),
        ),
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
    ]
