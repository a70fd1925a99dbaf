"""Model fields that read stored data defensively."""

from django.db import models

UNREADABLE = {"unreadable": "this value is nested too deeply to read; it was stored before the depth limit"}


# Far deeper than ingest accepts (32); a value nested beyond it was stored before the limit.
MAX_READ_DEPTH = 64


class StoredJSONField(models.JSONField):
    """A JSONField whose stored value can never make a page fail: JSON nested close to
    Python's recursion limit may decode and then fail wherever it is encoded or rendered
    again (an admin page, a template), so such a value reads as a placeholder instead."""

    def from_db_value(self, value, expression, connection):
        try:
            decoded = super().from_db_value(value, expression, connection)
        except RecursionError:
            return dict(UNREADABLE)
        return dict(UNREADABLE) if _deeper_than(decoded, MAX_READ_DEPTH) else decoded

    def deconstruct(self):
        # The column is a plain JSONField; only reading differs. Migrations see no change, so
        # SQLite never rebuilds the events table (which would drop its immutability trigger).
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.JSONField", args, kwargs


def _deeper_than(value, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = item.values()
        elif not isinstance(item, list):
            continue
        if depth >= limit:
            return True
        stack.extend((child, depth + 1) for child in item if isinstance(child, (dict, list)))
    return False


class AppearedAtField(models.DateTimeField):
    """When a lead first showed up: its creation, or an earlier first event (an import or an
    anonymous history joined later moves it back; see `leads_appeared_at_lower`). Filled with
    `created_at` on insert, so every way of creating a lead (save, bulk_create) sets it; the
    field must come after `created_at` on the model, whose value is set just before."""

    def pre_save(self, model_instance, add):
        value = getattr(model_instance, self.attname)
        if value is None and add:
            value = model_instance.created_at
            setattr(model_instance, self.attname, value)
        return value

    def deconstruct(self):
        # A plain datetime column; only the insert default differs, which migrations never see.
        name, _, args, kwargs = super().deconstruct()
        return name, "django.db.models.DateTimeField", args, kwargs
