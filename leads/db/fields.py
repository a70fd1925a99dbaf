"""Model fields that read stored data defensively."""

from django.db import models

UNREADABLE = {"unreadable": "this value is nested too deeply to read; it was stored before the depth limit"}


class StoredJSONField(models.JSONField):
    """A JSONField whose stored value can never make a page fail: JSON nested close to
    Python's recursion limit decodes outside a request but not inside one (the request
    already holds a hundred frames), so such a value reads as a placeholder instead."""

    def from_db_value(self, value, expression, connection):
        try:
            return super().from_db_value(value, expression, connection)
        except RecursionError:
            return dict(UNREADABLE)
