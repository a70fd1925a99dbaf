"""Events are immutable at the database level too, so no path (admin, shell, raw SQL
from another tool) can rewrite history. The one allowed UPDATE attaches an anonymous
event (lead_id NULL) to the lead it turned out to belong to; deleting a lead (erasure)
still removes its events."""
from django.db import migrations

SQLITE_COLUMNS = ("idempotency_key", "anonymous_id", "type", "name", "asset_key", "url", "occurred_at",
                  "received_at", "campaign", "properties", "source")
SQLITE_FORWARD = """
CREATE TRIGGER leads_event_immutable BEFORE UPDATE ON leads_event
WHEN OLD.lead_id IS NOT NULL OR {changed}
BEGIN SELECT RAISE(ABORT, 'leads_event rows are immutable'); END;
""".format(changed=" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in SQLITE_COLUMNS))
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS leads_event_immutable;"

POSTGRES_FORWARD = """
CREATE OR REPLACE FUNCTION leads_event_immutable() RETURNS trigger AS $$
BEGIN
  IF OLD.lead_id IS NOT NULL OR (to_jsonb(NEW) - 'lead_id') IS DISTINCT FROM (to_jsonb(OLD) - 'lead_id') THEN
    RAISE EXCEPTION 'leads_event rows are immutable';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER leads_event_immutable BEFORE UPDATE ON leads_event
FOR EACH ROW EXECUTE FUNCTION leads_event_immutable();
"""
POSTGRES_BACKWARD = "DROP TRIGGER IF EXISTS leads_event_immutable ON leads_event; DROP FUNCTION IF EXISTS leads_event_immutable();"


def _run(sql_by_vendor):
    def run(apps, schema_editor):
        sql = sql_by_vendor.get(schema_editor.connection.vendor)
        if sql:
            schema_editor.execute(sql) if schema_editor.connection.vendor == "sqlite" else schema_editor.connection.cursor().execute(sql)
    return run


def create_role_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ("Marketers", "Sales reps"):
        Group.objects.get_or_create(name=name)


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(_run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
                             _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD})),
        migrations.RunPython(create_role_groups, migrations.RunPython.noop),
    ]
