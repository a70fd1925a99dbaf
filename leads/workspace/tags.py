"""Tags ("data cards", §1): free labels on leads that need no custom field."""

from __future__ import annotations

import re

from django.db import transaction

from leads.models import Lead, Tag

TAG_PATTERN = re.compile(r"^[\w .:/+#&-]{1,60}$")


class TagError(ValueError):
    field = "tag"


def lead_tag_add(*, lead: Lead, name: str) -> Tag:
    name = " ".join((name or "").split())
    if not name:
        raise TagError("tag: type a tag name.")
    if not TAG_PATTERN.match(name):
        raise TagError("tag: use up to 60 letters, digits, spaces and . : / + # & - _")
    with transaction.atomic():
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        lead.tags.add(tag)
    return tag


def lead_tag_remove(*, lead: Lead, name: str) -> None:
    lead.tags.remove(*Tag.objects.filter(name=name))
