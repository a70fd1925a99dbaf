"""Published versions are immutable at the database level too, so no path (admin, shell,
raw SQL) can rewrite the model that produced past scores. Only the `is_active` pointer
may move between published versions.

SQLite gets the UPDATE/INSERT guards only: Django's test flush there is a row-level
DELETE, which a DELETE trigger would refuse (PostgreSQL flushes with TRUNCATE, which
row triggers do not see). Deletion stays guarded by the models and the PROTECT keys."""
from django.db import migrations

VERSION_COLUMNS = ("scoring_model_id", "number", "status", "note", "sales_ready_score", "inactivity_days",
                   "period_days", "decay_mode", "decay_amount", "floor_fraction", "cold_after_days", "stage_mode",
                   "account_threshold", "created_by_id", "created_at", "published_by_id", "published_at",
                   "qualification_filters")
PUBLISHED = "(SELECT status FROM models_review_modelversion WHERE id = {row}.version_id) = 'published'"

SQLITE_FORWARD = [
    """CREATE TRIGGER models_review_version_immutable BEFORE UPDATE ON models_review_modelversion
    WHEN OLD.status = 'published' AND ({changed})
    BEGIN SELECT RAISE(ABORT, 'published model versions are immutable'); END;""".format(
        changed=" OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in VERSION_COLUMNS)),
    f"""CREATE TRIGGER models_review_rule_insert_immutable BEFORE INSERT ON models_review_rule
    WHEN {PUBLISHED.format(row='NEW')}
    BEGIN SELECT RAISE(ABORT, 'rules of published model versions are immutable'); END;""",
    f"""CREATE TRIGGER models_review_rule_update_immutable BEFORE UPDATE ON models_review_rule
    WHEN {PUBLISHED.format(row='OLD')} OR {PUBLISHED.format(row='NEW')}
    BEGIN SELECT RAISE(ABORT, 'rules of published model versions are immutable'); END;""",
    f"""CREATE TRIGGER models_review_citation_immutable BEFORE INSERT ON models_review_versioncitation
    WHEN {PUBLISHED.format(row='NEW')}
    BEGIN SELECT RAISE(ABORT, 'citations of published model versions are immutable'); END;""",
]
SQLITE_BACKWARD = [
    f"DROP TRIGGER IF EXISTS {name};" for name in (
        "models_review_version_immutable", "models_review_rule_insert_immutable",
        "models_review_rule_update_immutable", "models_review_citation_immutable")
]

POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION models_review_version_immutable() RETURNS trigger AS $$
    BEGIN
      IF TG_OP = 'DELETE' THEN
        IF OLD.status = 'published' THEN RAISE EXCEPTION 'published model versions are immutable' USING ERRCODE = 'integrity_constraint_violation'; END IF;
        RETURN OLD;
      END IF;
      IF OLD.status = 'published' AND (to_jsonb(NEW) - 'is_active') IS DISTINCT FROM (to_jsonb(OLD) - 'is_active') THEN
        RAISE EXCEPTION 'published model versions are immutable' USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER models_review_version_immutable BEFORE UPDATE OR DELETE ON models_review_modelversion
    FOR EACH ROW EXECUTE FUNCTION models_review_version_immutable();""",
    """CREATE OR REPLACE FUNCTION models_review_child_immutable() RETURNS trigger AS $$
    DECLARE row_version bigint;
    BEGIN
      IF TG_OP = 'DELETE' THEN row_version := OLD.version_id; ELSE row_version := NEW.version_id; END IF;
      IF EXISTS (SELECT 1 FROM models_review_modelversion WHERE id = row_version AND status = 'published')
         OR (TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM models_review_modelversion
                                          WHERE id = OLD.version_id AND status = 'published')) THEN
        RAISE EXCEPTION '% rows of published model versions are immutable', TG_TABLE_NAME
          USING ERRCODE = 'integrity_constraint_violation';
      END IF;
      IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
      RETURN NEW;
    END $$ LANGUAGE plpgsql;""",
    """CREATE TRIGGER models_review_rule_immutable BEFORE INSERT OR UPDATE OR DELETE ON models_review_rule
    FOR EACH ROW EXECUTE FUNCTION models_review_child_immutable();""",
    """CREATE TRIGGER models_review_citation_immutable BEFORE INSERT OR UPDATE OR DELETE ON models_review_versioncitation
    FOR EACH ROW EXECUTE FUNCTION models_review_child_immutable();""",
]
POSTGRES_BACKWARD = [
    "DROP TRIGGER IF EXISTS models_review_version_immutable ON models_review_modelversion;",
    "DROP TRIGGER IF EXISTS models_review_rule_immutable ON models_review_rule;",
    "DROP TRIGGER IF EXISTS models_review_citation_immutable ON models_review_versioncitation;",
    "DROP FUNCTION IF EXISTS models_review_version_immutable();",
    "DROP FUNCTION IF EXISTS models_review_child_immutable();",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            # A raw cursor: PL/pgSQL's '%' placeholders must not be read as query parameters.
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(statement)
    return run


class Migration(migrations.Migration):
    dependencies = [("models_review", "0004_background_jobs")]

    operations = [
        migrations.RunPython(_run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}),
                             _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD})),
    ]
