"""Tags ("data cards", §1): free labels on leads that need no custom field."""

from __future__ import annotations

import re

from django.db import transaction

from leads.models import Lead, Tag

TAG_PATTERN = re.compile(r"^[\w .:/+#&-]{1,60}$")


class TagError(ValueError):
    field = "tag"


def _checked_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise TagError("tag: type a tag name.")
    if not TAG_PATTERN.match(name):
        raise TagError("tag: use up to 60 letters, digits, spaces and . : / + # & - _")
    return name


def lead_tag_add(*, lead: Lead, name: str) -> Tag:
    name = _checked_name(name)
    with transaction.atomic():
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        lead.tags.add(tag)
    return tag


def leads_tag_add(*, lead_ids: list[int], name: str) -> tuple[Tag, int]:
    """Tag many leads in one statement; returns the tag and how many leads newly carry it."""
    name = _checked_name(name)
    through = Lead.tags.through
    with transaction.atomic():
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        already = set(through.objects.filter(tag=tag, lead_id__in=lead_ids).values_list("lead_id", flat=True))
        existing = Lead.objects.filter(pk__in=lead_ids).exclude(pk__in=already).values_list("pk", flat=True)
        added = through.objects.bulk_create(
            [through(lead_id=pk, tag=tag) for pk in existing], ignore_conflicts=True
        )
    return tag, len(added)


def leads_tag_remove(*, lead_ids: list[int], name: str) -> int:
    """Returns how many of the leads carried the tag."""
    name = " ".join((name or "").split())
    if not name:
        raise TagError("tag: type the tag to remove.")
    removed, _ = Lead.tags.through.objects.filter(lead_id__in=lead_ids, tag__name__iexact=name).delete()
    return removed


def lead_tag_remove(*, lead: Lead, name: str) -> None:
    lead.tags.remove(*Tag.objects.filter(name=name))
