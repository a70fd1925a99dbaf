"""Writes on saved segments (§6): the built-ins the product maintains and marketers' own."""

from __future__ import annotations

import csv
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from leads.models import Account, ProductLine, Segment, Stage
from leads.workspace.filters import LeadFilter, parse_filters
from leads.workspace.spreadsheet import spreadsheet_cell
from leads.workspace.tags import leads_tag_add

# (key, name, description, filters, order). Keys are stable: other jobs (cold detection)
# find the nurture segment by `built_in`, never by its name, which a marketer may rename.
BUILT_INS = (
    (
        "sales-ready",
        "Sales-ready",
        "Leads at the sales-ready stage (MQL), best first.",
        {"stage": [str(Stage.SALES_READY.value)]},
        Segment.Order.HIGHEST_FIRST,
    ),
    (
        "cold-nurture",
        "Cold — nurture",
        "Leads whose score has not grown for the cold window: re-engage them.",
        {"cold": "1"},
        Segment.Order.LOWEST_FIRST,
    ),
    (
        "lowest-scores",
        "Lowest scores",
        "Every lead, lowest score first (re-engagement campaigns).",
        {},
        Segment.Order.LOWEST_FIRST,
    ),
    (
        "highest-scores",
        "Highest scores",
        "Every lead, highest score first (personal outreach).",
        {},
        Segment.Order.HIGHEST_FIRST,
    ),
)


def segments_ensure_built_in() -> int:
    """Create any missing built-in segment; safe to call on every visit. Returns how many were made."""
    existing = set(Segment.objects.exclude(built_in="").values_list("built_in", flat=True))
    made = 0
    for key, name, description, filters, order in BUILT_INS:
        if key in existing:
            continue
        taken = Segment.objects.filter(name=name).exists()
        try:
            with transaction.atomic():
                Segment.objects.create(
                    built_in=key,
                    name=f"{name} (built-in)" if taken else name,
                    description=description,
                    filters=filters,
                    order=order,
                )
            made += 1
        except IntegrityError:
            pass  # a concurrent visit created it first
    return made


class SegmentError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def segment_create(*, name: str, lead_filter: LeadFilter, description: str = "", by=None) -> Segment:
    """Save the lead list's current filter as a dynamic segment; its order is the list's sort
    when that is a score order, else highest first."""
    name = (name or "").strip()
    if not name:
        raise SegmentError("name", "give the segment a name.")
    if len(name) > 120:
        raise SegmentError("name", "use at most 120 characters.")
    params = lead_filter.as_params()
    sort = params.pop("sort", "-score")
    order = sort if sort in Segment.Order.values else Segment.Order.HIGHEST_FIRST
    parse_filters({**params, "sort": order}, allow_extra=("sort",))  # what is saved must load again
    try:
        with transaction.atomic():
            return Segment.objects.create(
                name=name, description=description.strip()[:300], filters=params, order=order, created_by=by
            )
    except IntegrityError:
        raise SegmentError("name", f"a segment called “{name}” already exists.") from None


def leads_list_add(*, lead_ids: list[int], name: str, by=None) -> tuple[Segment, int]:
    """A static list is a tag plus the saved segment of that tag: members are exactly the leads
    someone added, and the segment page, its CSV and every lead filter work on it unchanged."""
    with transaction.atomic():
        tag, added = leads_tag_add(lead_ids=lead_ids, name=name)
        segment = Segment.objects.filter(filters={"tag": [tag.name]}).first()
        if segment is None:
            segment = segment_create(
                name=tag.name,
                lead_filter=parse_filters({"tag": [tag.name]}),
                description=f"Static list: the leads tagged “{tag.name}”.",
                by=by,
            )
    return segment, added


def segment_update(
    *, segment: Segment, name: str, description: str, order: str, lead_filter: LeadFilter | None = None
) -> Segment:
    """Rename, re-describe, re-order or re-filter a segment. A built-in keeps its filter: the
    product's own jobs rely on what it selects (cold detection fills the nurture segment)."""
    name = (name or "").strip()
    if not name:
        raise SegmentError("name", "give the segment a name.")
    if len(name) > 120:
        raise SegmentError("name", "use at most 120 characters.")
    if order not in Segment.Order.values:
        raise SegmentError("order", f"must be one of {', '.join(Segment.Order.values)}.")
    if lead_filter is not None and segment.built_in:
        raise SegmentError("filters", "a built-in segment's filter cannot be changed; save a new segment.")
    segment.name, segment.description, segment.order = name, (description or "").strip()[:300], order
    if lead_filter is not None:
        params = lead_filter.as_params()
        params.pop("sort", None)
        segment.filters = params
    parse_filters({**segment.filters, "sort": order}, allow_extra=("sort",))  # what is saved must load again
    try:
        with transaction.atomic():
            segment.save(update_fields=["name", "description", "order", "filters"])
    except IntegrityError:
        raise SegmentError("name", f"a segment called “{name}” already exists.") from None
    return segment


def segment_delete(*, segment: Segment) -> None:
    """Delete a marketer's segment; the built-ins come back on the next visit, so they stay."""
    if segment.built_in:
        raise SegmentError("segment", "a built-in segment cannot be deleted.")
    segment.delete()


# --- CSV export ---------------------------------------------------------------------------

CSV_COLUMNS = (
    "email",
    "name",
    "title",
    "account",
    "owner",
    "score",
    "stage",
    "cold",
    "last_engaged_at",
    "nps_score",
    "tags",
    "likelihood",
)
neutralise = spreadsheet_cell


class _Echo:
    def write(self, value):
        return value


def segment_csv_rows(members, chunk_size: int = 2000) -> Iterator[str]:
    """CSV lines for a queryset of leads, read in chunks so a big segment streams. One
    `interest: <product line>` column per product line (empty: no interest scored)."""
    writer = csv.writer(_Echo())
    product_lines = list(ProductLine.objects.order_by("name").values_list("pk", "name"))
    yield writer.writerow([*CSV_COLUMNS, *(f"interest: {name}" for _, name in product_lines)])
    rows = members.select_related("account", "owner").prefetch_related("tags", "product_scores")
    for lead in rows.iterator(chunk_size=chunk_size):
        interest = {ps.product_line_id: ps.score for ps in lead.product_scores.all()}
        yield writer.writerow(
            [
                neutralise(value)
                for value in (
                    lead.email,
                    lead.name,
                    lead.title,
                    lead.account.name if lead.account else "",
                    lead.owner.get_username() if lead.owner else "",
                    f"{lead.score:.2f}",
                    lead.stage_label,
                    "yes" if lead.is_cold else "no",
                    lead.last_engaged_at.isoformat() if lead.last_engaged_at else "",
                    lead.nps_score if lead.nps_score is not None else "",
                    ", ".join(t.name for t in lead.tags.all()),
                    f"{lead.likelihood:.4f}" if lead.likelihood is not None else "",
                    *(f"{interest[pk]:.2f}" if pk in interest else "" for pk, _ in product_lines),
                )
            ]
        )


def describe_filters(filters: dict) -> str:
    """A segment's saved filter in words for the segment list."""
    if not filters:
        return "All leads"
    parts = []
    for key, value in filters.items():
        shown = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)
        if key == "stage":
            shown = ", ".join(_stage_name(v) for v in (value if isinstance(value, list) else [value]))
        elif key in ("cold", "qualified"):
            shown = "yes" if str(value) in ("1", "true") else "no"
        elif key in ("owner", "account"):
            shown = ", ".join(_names(key, value if isinstance(value, list) else [value]))
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return "; ".join(parts)


def _names(key: str, ids: list) -> list[str]:
    """Owner and account filters are stored as ids; people read names (an id that no longer
    exists is shown as such, not dropped)."""
    wanted = [int(v) for v in ids if str(v).isascii() and str(v).isdigit()]
    if key == "owner":
        found = dict(get_user_model().objects.filter(pk__in=wanted).values_list("pk", "username"))
    else:
        found = dict(Account.objects.filter(pk__in=wanted).values_list("pk", "name"))
    return [found.get(int(v), f"#{v} (deleted)") if str(v).isdigit() else str(v) for v in ids]


def _stage_name(value) -> str:
    try:
        return Stage(int(value)).label
    except (TypeError, ValueError):
        return str(value)
