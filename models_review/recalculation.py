"""Recalculation after a version is published (SPEC §7): every lead replayed from its events."""
from __future__ import annotations

from django.utils import timezone

from leads.assets import AssetCatalog
from leads.models import Lead
from leads.services import lead_replay

CHUNK_SIZE = 500


def recalculation_request(*, version) -> None:
    """Replay every lead now. The workers issue moves this into a resumable RQ job."""
    recalculate_range(version=version, start_id=0, end_id=None)


def recalculate_range(*, version, start_id: int, end_id: int | None) -> int:
    catalog, now, done = AssetCatalog.load(), timezone.now(), 0
    leads = Lead.objects.filter(pk__gt=start_id).order_by("pk")
    if end_id is not None:
        leads = leads.filter(pk__lte=end_id)
    for lead in leads.iterator(chunk_size=CHUNK_SIZE):
        lead_replay(lead=lead, version=version, now=now, catalog=catalog)
        done += 1
    return done
