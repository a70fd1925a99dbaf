"""The lead filter shared by the lead list, segments, surveys and exports (§6).

Parameters are allow-listed and parsed into typed values before any query is built:
an unknown field, a bad number or `score;DROP` is a FilterError naming the field,
never a query error."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.db.models import Exists, F, OuterRef, QuerySet

from leads.models import Account, Lead, ProductLine, ProductScore, Stage

SORTS = {
    "-score": ("-score", "id"),
    # Ties newest first: read backwards, the (-score, id) indexes give exactly this order.
    "score": ("score", "-id"),
    "-last_engaged_at": ("-last_engaged_at", "id"),
    "last_engaged_at": ("last_engaged_at", "id"),
    "name": ("name", "id"),
    "-created_at": ("-created_at", "-id"),
    # Leads not scored yet come last either way.
    "-likelihood": (F("likelihood").desc(nulls_last=True), "id"),
    "likelihood": (F("likelihood").asc(nulls_last=True), "id"),
}
NPS_GROUPS = {"promoter": (9, 10), "passive": (7, 8), "detractor": (0, 6)}
FILTER_FIELDS = (
    "q",
    "score_min",
    "score_max",
    "stage",
    "product_line",
    "product_score_min",
    "cold",
    "qualified",
    "tag",
    "account",
    "owner",
    "active_since",
    "active_until",
    "nps_group",
    "likelihood_min",
    "likelihood_max",
)
PAGING_FIELDS = ("sort", "page", "segment", "format")
# Dates a person or a URL gives are held to years the product can compute with: a day is
# turned into an instant and a day added to it, which overflows at 9999-12-31.
EARLIEST_DATE = date(1970, 1, 1)
LATEST_DATE = date(2999, 12, 31)
MAX_NUMBER = 1e15


class FilterError(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class LeadFilter:
    q: str = ""
    score_min: float | None = None
    score_max: float | None = None
    stages: tuple[int, ...] = ()
    product_line: str = ""
    product_score_min: float | None = None
    cold: bool | None = None
    qualified: bool | None = None
    tags: tuple[str, ...] = ()
    account: int | None = None
    owner: int | None = None
    active_since: date | None = None
    active_until: date | None = None
    nps_group: str = ""
    likelihood_min: float | None = None  # percent, 0–100
    likelihood_max: float | None = None
    sort: str = "-score"

    def as_params(self) -> dict:
        """The filter back as query parameters (what a Segment stores)."""
        params = {
            "q": self.q,
            "score_min": self.score_min,
            "score_max": self.score_max,
            "stage": list(self.stages),
            "product_line": self.product_line,
            "product_score_min": self.product_score_min,
            "cold": None if self.cold is None else ("1" if self.cold else "0"),
            "qualified": None if self.qualified is None else ("1" if self.qualified else "0"),
            "tag": list(self.tags),
            "account": self.account,
            "owner": self.owner,
            "active_since": self.active_since.isoformat() if self.active_since else None,
            "active_until": self.active_until.isoformat() if self.active_until else None,
            "nps_group": self.nps_group,
            "likelihood_min": self.likelihood_min,
            "likelihood_max": self.likelihood_max,
            "sort": self.sort,
        }
        return {key: value for key, value in params.items() if value not in (None, "", [])}


def parse_filters(params, *, allow_extra: tuple[str, ...] = PAGING_FIELDS) -> LeadFilter:
    """Parse a QueryDict or a plain dict (values may be lists). Raises FilterError."""
    getlist = params.getlist if hasattr(params, "getlist") else (lambda key: _as_list(params.get(key)))
    get = lambda key: (getlist(key) or [""])[-1]  # noqa: E731
    for key in params:
        if key not in FILTER_FIELDS and key not in allow_extra:
            raise FilterError(
                key, "is not a lead filter (allowed: " + ", ".join(FILTER_FIELDS + ("sort",)) + ")"
            )
    sort = get("sort") or "-score"
    if sort not in SORTS:
        raise FilterError("sort", f"must be one of {', '.join(SORTS)}")
    return LeadFilter(
        q=_clean_text(get("q"))[:200],
        score_min=_number("score_min", get("score_min")),
        score_max=_number("score_max", get("score_max")),
        stages=tuple(_stage(value) for value in getlist("stage") if str(value).strip()),
        product_line=_clean_text(get("product_line"))[:100],
        product_score_min=_number("product_score_min", get("product_score_min")),
        cold=_flag("cold", get("cold")),
        qualified=_flag("qualified", get("qualified")),
        tags=tuple(_clean_text(tag)[:60] for tag in getlist("tag") if _clean_text(tag)),
        account=_integer("account", get("account")),
        owner=_integer("owner", get("owner")),
        active_since=_date("active_since", get("active_since")),
        active_until=_date("active_until", get("active_until")),
        nps_group=_choice("nps_group", get("nps_group"), NPS_GROUPS),
        likelihood_min=_percent("likelihood_min", get("likelihood_min")),
        likelihood_max=_percent("likelihood_max", get("likelihood_max")),
        sort=sort,
    )


def apply_filters(leads: QuerySet, lead_filter: LeadFilter) -> QuerySet:
    f = lead_filter
    if f.q:
        leads = leads.filter(pk__in=text_matches(f.q))
    if f.score_min is not None:
        leads = leads.filter(score__gte=f.score_min)
    if f.score_max is not None:
        leads = leads.filter(score__lte=f.score_max)
    if f.stages:
        leads = leads.filter(stage__in=f.stages)
    if f.product_line:
        # By id, not by a join on the name: the planner cannot tell how many scores an unseen
        # name has, guessed a few hundred for 245,000 and fetched them all before sorting (2 s).
        line_id = ProductLine.objects.filter(name=f.product_line).values_list("pk", flat=True).first()
        interest = ProductScore.objects.filter(lead=OuterRef("pk"), product_line_id=line_id)
        if f.product_score_min is not None:
            interest = interest.filter(score__gte=f.product_score_min)
        leads = leads.filter(Exists(interest))
    if f.cold is not None:
        leads = leads.filter(is_cold=f.cold)
    if f.qualified is not None:
        leads = leads.filter(is_qualified=f.qualified)
    for tag in f.tags:
        leads = leads.filter(tags__name=tag)
    if f.account is not None:
        leads = leads.filter(account_id=f.account)
    if f.owner is not None:
        leads = leads.filter(owner_id=f.owner)
    if f.active_since:
        leads = leads.filter(last_engaged_at__gte=_start_of(f.active_since))
    if f.active_until:
        leads = leads.filter(last_engaged_at__lt=_start_of(f.active_until + timedelta(days=1)))
    if f.nps_group:
        low, high = NPS_GROUPS[f.nps_group]
        leads = leads.filter(nps_score__gte=low, nps_score__lte=high)
    if f.likelihood_min is not None:
        leads = leads.filter(likelihood__gte=f.likelihood_min / 100)
    if f.likelihood_max is not None:
        leads = leads.filter(likelihood__lte=f.likelihood_max / 100)
    return leads.order_by(*SORTS[f.sort])


# Up to this many accounts whose name matches are passed to the lead lookup as ids.
ACCOUNT_IDS_INLINED = 1000


def text_matches(text: str) -> QuerySet:
    """Ids of the leads whose email, name or account name contains `text` (any case).

    A union of lookups rather than one OR across a join: each side can then use its own
    trigram index on PostgreSQL (migration 0014), where an OR spanning the account join can
    only be answered by reading every lead. The matching accounts are looked up first: as a
    subquery, the planner cannot tell how many leads they hold and guesses thousands, then
    walks the whole score index for a page of a handful of matches (1.4 s at 1M leads)."""
    by_email = Lead.objects.filter(email__icontains=text).values("id")
    by_name = Lead.objects.filter(name__icontains=text).values("id")
    accounts = Account.objects.filter(name__icontains=text).values_list("id", flat=True)
    account_ids = list(accounts[: ACCOUNT_IDS_INLINED + 1])
    if not account_ids:
        return by_email.union(by_name)
    if len(account_ids) > ACCOUNT_IDS_INLINED:
        account_ids = accounts
    return by_email.union(by_name, Lead.objects.filter(account_id__in=account_ids).values("id"))


def filtered_leads(lead_filter: LeadFilter, leads: QuerySet | None = None) -> QuerySet:
    return apply_filters(Lead.objects.all() if leads is None else leads, lead_filter)


def segment_members(segment, leads: QuerySet | None = None) -> QuerySet:
    """Members of a saved segment, in the segment's order."""
    lead_filter = parse_filters({**segment.filters, "sort": segment.order}, allow_extra=("sort",))
    return filtered_leads(lead_filter, leads)


def _as_list(value):
    if value is None:
        return []
    return [str(item) for item in value] if isinstance(value, (list, tuple)) else [str(value)]


def _number(field, raw):
    if raw in ("", None):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise FilterError(field, f"must be a number, not {str(raw)[:40]!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise FilterError(field, "must be a finite number")
    if abs(value) > MAX_NUMBER:
        raise FilterError(field, f"must be between -{MAX_NUMBER:g} and {MAX_NUMBER:g}")
    return value


def _percent(field, raw):
    value = _number(field, raw)
    if value is not None and not 0 <= value <= 100:
        raise FilterError(field, "must be a percentage between 0 and 100")
    return value


def _integer(field, raw):
    if raw in ("", None):
        return None
    # ASCII only: str.isdigit() also accepts "²", which int() refuses.
    if not (str(raw).isascii() and str(raw).isdigit()):
        raise FilterError(field, f"must be a whole number, not {str(raw)[:40]!r}")
    if len(str(raw)) > 18:  # beyond a 64-bit database integer
        raise FilterError(field, "is too large")
    return int(raw)


def _stage(raw):
    try:
        return Stage(int(raw)).value
    except (TypeError, ValueError):
        raise FilterError(
            "stage", f"must be one of {', '.join(str(s.value) for s in Stage)}, not {str(raw)[:40]!r}"
        ) from None


def _flag(field, raw):
    if raw in ("", None):
        return None
    if raw not in ("1", "0", "true", "false"):
        raise FilterError(field, "must be 1 or 0")
    return raw in ("1", "true")


def _date(field, raw):
    if raw in ("", None):
        return None
    try:
        day = date.fromisoformat(str(raw).strip())
    except (TypeError, ValueError):
        raise FilterError(field, f"must be a date like 2026-03-31, not {str(raw)[:40]!r}") from None
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        raise FilterError(field, f"must be a date from {EARLIEST_DATE} to {LATEST_DATE}, not {day}")
    return day


def _clean_text(raw) -> str:
    # PostgreSQL refuses NUL in text; a saved segment may hold anything JSON can.
    return str(raw).replace("\x00", "").strip()


def _choice(field, raw, choices):
    if raw in ("", None):
        return ""
    if raw not in choices:
        raise FilterError(field, f"must be one of {', '.join(choices)}")
    return raw


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)
