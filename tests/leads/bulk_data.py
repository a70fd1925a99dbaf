"""Many random leads with random histories, stored fast (bulk inserts), for job tests.

Histories mix every scoring path: sales-ready pages, the careers page (negative points),
partial video views, capped product downloads, forms, custom events and manual
adjustments, spread over ~200 days so some leads are hot and many have decayed."""

from __future__ import annotations

import random
from datetime import timedelta

from leads.background.recalculation import replay_chunk
from leads.ingest.assets import AssetCatalog
from leads.models import Asset, Event, Lead, ProductLine
from tests.conftest import day

SITE = "https://shop.example"
PAGES = (f"{SITE}/pricing", f"{SITE}/demo", f"{SITE}/careers/engineer", f"{SITE}/blog/1")


def catalogue() -> None:
    analytics, _ = ProductLine.objects.get_or_create(name="Analytics")
    automation, _ = ProductLine.objects.get_or_create(name="Automation")
    for url in PAGES[:2]:
        Asset.objects.get_or_create(
            kind="page", key=url, defaults={"sales_ready": True, "product_line": automation}
        )
    Asset.objects.get_or_create(kind="document", key="whitepaper-1", defaults={"product_line": analytics})
    Asset.objects.get_or_create(kind="video", key="video-1", defaults={"product_line": analytics})


def random_event(rng: random.Random, lead_id: int, at) -> Event:
    kind = rng.choices(
        ["page", "video", "download", "form", "custom", "manual", "email"], weights=[8, 3, 4, 1, 1, 1, 2]
    )[0]
    common = {"lead_id": lead_id, "occurred_at": at, "source": "test"}
    if kind == "page":
        url = rng.choice(PAGES)
        return Event(type="page_view", url=url, asset_key=url, **common)
    if kind == "video":
        return Event(
            type="video_play",
            asset_key="video-1",
            properties={"percent": rng.choice([10, 40, 75, 100])},
            **common,
        )
    if kind == "download":
        return Event(type="download", asset_key="whitepaper-1", **common)
    if kind == "form":
        return Event(type="form_submit", asset_key="contact", **common)
    if kind == "custom":
        return Event(type="custom", name="Trial Started", **common)
    if kind == "manual":
        return Event(
            type="manual", properties={"points": rng.choice([-30, -5, 15, 40]), "reason": "test"}, **common
        )
    return Event(type="email_open", asset_key="newsletter", **common)


def random_leads(count: int, *, seed: int = 7, max_events: int = 12, span_days: int = 200) -> list[int]:
    """Create `count` leads with 0..max_events events each; returns their ids (ascending)."""
    rng = random.Random(seed)
    catalogue()
    first = Lead.objects.count()
    leads = Lead.objects.bulk_create(
        [Lead(email=f"bulk{first + i}@example.com") for i in range(count)], batch_size=2000
    )
    events = []
    for lead in leads:
        for _ in range(rng.randint(0, max_events)):
            at = day(0) + timedelta(seconds=rng.randrange(span_days * 86400))
            events.append(random_event(rng, lead.pk, at))
        if len(events) > 20_000:
            Event.objects.bulk_create(events, batch_size=2000)
            events = []
    Event.objects.bulk_create(events, batch_size=2000)
    return sorted(lead.pk for lead in leads)


def score_all(version, *, chunk: int = 2000) -> None:
    """Score every lead as of its own last event (no decay applied yet), as ingest leaves it."""
    catalog, after = AssetCatalog.load(), 0
    while (
        result := replay_chunk(
            version=version, after_id=after, limit=chunk, as_of=day(-1000), catalog=catalog
        )
    ) is not None:
        after = result.last_lead_id
