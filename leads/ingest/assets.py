"""Which asset an event refers to, and what the catalogue says about it (§1).

Events keep only an asset key; the catalogue is consulted when an event is scored,
so a marketer flagging a page as sales-ready changes scores on the next replay."""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from django.db.models import Count, Max

from leads.models import Asset

MAX_KEY_LENGTH = 500
ASSET_KIND_BY_EVENT_TYPE = {
    "page_view": Asset.Kind.PAGE,
    "video_play": Asset.Kind.VIDEO,
    "download": Asset.Kind.DOCUMENT,
    "form_submit": Asset.Kind.FORM,
    "email_open": Asset.Kind.EMAIL,
    "email_click": Asset.Kind.EMAIL,
    "webinar_attend": Asset.Kind.WEBINAR,
}
# Property names tracking clients use for "which one", most specific first.
_KEY_PROPERTIES = {
    "video_play": ("asset_id", "content_asset_id", "video_id", "title", "name"),
    "download": ("asset_id", "document_id", "document", "file_name", "name", "title"),
    "form_submit": ("form_id", "form_name", "name"),
    "email_open": ("email_id", "email_subject", "subject"),
    "email_click": ("email_id", "email_subject", "subject"),
    "webinar_attend": ("webinar_id", "webinar", "title", "name"),
}


def normalize_url(url: str) -> str:
    """One key per page: scheme and host lower-cased, query and fragment dropped."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()[:MAX_KEY_LENGTH]
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, "", ""))[:MAX_KEY_LENGTH]


def asset_key_for(event_type: str, url: str, properties: dict) -> str:
    if event_type == "page_view":
        return normalize_url(url) if url else ""
    for name in _KEY_PROPERTIES.get(event_type, ()):
        value = properties.get(name)
        if isinstance(value, (str, int)) and str(value).strip():
            return str(value).strip()[:MAX_KEY_LENGTH]
    return normalize_url(url) if url and event_type in ASSET_KIND_BY_EVENT_TYPE else ""


@dataclass(frozen=True)
class AssetInfo:
    sales_ready: bool = False
    product_line: str | None = None
    target_stage: int | None = None


UNKNOWN = AssetInfo()


class AssetCatalog:
    """All assets in memory, keyed by (kind, key), plus the URL-pattern assets for pages."""

    _cached: tuple[tuple, AssetCatalog] | None = None
    _lock = threading.Lock()

    def __init__(self, assets):
        self.by_key: dict[tuple[str, str], AssetInfo] = {}
        self.patterns: list[tuple[str, AssetInfo]] = []
        for asset in assets:
            info = AssetInfo(
                asset.sales_ready,
                asset.product_line.name if asset.product_line_id else None,
                asset.target_stage,
            )
            self.by_key[(asset.kind, asset.key)] = info
            if asset.url_pattern:
                self.patterns.append((asset.url_pattern.lower(), info))

    @classmethod
    def load(cls) -> AssetCatalog:
        # One cheap aggregate tells whether the catalogue changed since we last read it.
        stamp = tuple(Asset.objects.aggregate(n=Count("id"), changed=Max("updated_at")).values())
        with cls._lock:
            if cls._cached is None or cls._cached[0] != stamp:
                cls._cached = (stamp, cls(Asset.objects.select_related("product_line")))
            return cls._cached[1]

    @classmethod
    def register_and_load(cls, events) -> AssetCatalog:
        """Add assets seen for the first time (unflagged) so marketers can find and flag them."""
        catalog = cls.load()
        unseen = {}
        for event in events:
            kind = ASSET_KIND_BY_EVENT_TYPE.get(event.type)
            if kind and event.asset_key and (kind, event.asset_key) not in catalog.by_key:
                unseen[(kind, event.asset_key)] = Asset(
                    kind=kind, key=event.asset_key, name=event.asset_key[:200]
                )
        if unseen:
            Asset.objects.bulk_create(unseen.values(), ignore_conflicts=True)
            catalog = cls.load()
        return catalog

    def event_asset(self, event_type: str, key: str, url: str) -> AssetInfo:
        """What the catalogue says about the asset an event of `event_type` refers to."""
        return self.lookup(ASSET_KIND_BY_EVENT_TYPE.get(event_type), key, url)

    def lookup(self, kind: str | None, key: str, url: str) -> AssetInfo:
        if kind is None:
            return UNKNOWN
        info = self.by_key.get((kind, key))
        if info is not None and (info.sales_ready or info.product_line or info.target_stage):
            return info
        if kind == Asset.Kind.PAGE and url:
            lowered = url.lower()
            for pattern, pattern_info in self.patterns:
                if fnmatch.fnmatchcase(lowered, pattern):
                    return pattern_info
        return info or UNKNOWN
