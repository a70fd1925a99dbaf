"""Reads of models_review: the version sheet, feedback lists, review schedule and checklist."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db.models import Count, Exists, Min, OuterRef, Q, Subquery
from django.utils import timezone

from leads.engine import scoring
from leads.models import Event, Lead, StageChange
from leads.workspace.selectors import tally_calibration
from models_review.models import ModelVersion, Review, SalesFeedback
from models_review.preview import BUCKETS, learning_source

FIRST_REVIEW_AFTER = timedelta(days=60)
REVIEW_EVERY = timedelta(days=90)


# --- review schedule (§7) -------------------------------------------------------------------


def next_review_due(*, first_live_on: date, last_review_on: date | None) -> date:
    """First review 60 days after the first version went live, then 90 days after each review."""
    if last_review_on is not None:
        return last_review_on + REVIEW_EVERY
    return first_live_on + FIRST_REVIEW_AFTER


@dataclass(frozen=True)
class ReviewSchedule:
    due_on: date
    today: date

    @property
    def overdue_days(self) -> int:
        return max(0, (self.today - self.due_on).days)

    @property
    def is_overdue(self) -> bool:
        return self.today > self.due_on

    @property
    def days_left(self) -> int:
        return (self.due_on - self.today).days


def review_schedule(*, today: date | None = None) -> ReviewSchedule | None:
    """None until a version has gone live."""
    today = today or timezone.localdate()
    first_live = ModelVersion.objects.filter(status=ModelVersion.Status.PUBLISHED).aggregate(
        at=Min("published_at")
    )["at"]
    if first_live is None:
        return None
    last_review = Review.objects.order_by("-completed_at").values_list("completed_at", flat=True).first()
    due = next_review_due(
        first_live_on=timezone.localdate(first_live),
        last_review_on=timezone.localdate(last_review) if last_review else None,
    )
    return ReviewSchedule(due_on=due, today=today)


# --- review checklist (§7) ------------------------------------------------------------------

OPPORTUNITY_STAGES = (scoring.OPPORTUNITY, scoring.CUSTOMER)


@dataclass
class Checklist:
    version: ModelVersion
    sales_ready_leads: int = 0
    became_opportunity: int = 0
    became_won: int = 0
    answers_yes: int = 0
    answers_no: int = 0
    good_actions: list = field(default_factory=list)
    bad_actions: list = field(default_factory=list)
    calibration: object = None  # leads.workspace.selectors.TallyReport
    suggested_points: int | None = None

    @property
    def opportunity_ratio(self):
        return self.became_opportunity / self.sales_ready_leads if self.sales_ready_leads else None

    @property
    def won_ratio(self):
        return self.became_won / self.sales_ready_leads if self.sales_ready_leads else None

    @property
    def really_sales_ready_share(self):
        answered = self.answers_yes + self.answers_no
        return self.answers_yes / answered if answered else None

    def figures(self) -> dict:
        return {
            "sales_ready_leads": self.sales_ready_leads,
            "became_opportunity": self.became_opportunity,
            "became_won": self.became_won,
            "opportunity_ratio": self.opportunity_ratio,
            "won_ratio": self.won_ratio,
            "answers_yes": self.answers_yes,
            "answers_no": self.answers_no,
            "really_sales_ready_share": self.really_sales_ready_share,
            "suggested_points": self.suggested_points,
            "good_actions": self.good_actions,
            "bad_actions": self.bad_actions,
        }


def qualified_under(*, version: ModelVersion):
    """Leads whose evidence counts for `version`: the one rule for reviews (§7). A lead counts
    for the version that handed it to sales, i.e. of its latest change into sales-ready; its
    reps' answers and its outcomes count there too, whenever they were given."""
    latest = (
        StageChange.objects.filter(lead=OuterRef("pk"), to_stage=scoring.SALES_READY)
        .order_by("-at", "-id")
        .values("version")[:1]
    )
    return Lead.objects.annotate(qualifying_version=Subquery(latest)).filter(qualifying_version=version.pk)


def review_checklist(*, version: ModelVersion, top: int = 5) -> Checklist:
    """The §7 checklist for the leads `version` handed to sales (see `qualified_under`)."""
    checklist = Checklist(version=version)
    ready = Lead.objects.filter(pk__in=qualified_under(version=version).values("pk"))
    checklist.sales_ready_leads = ready.count()
    outcomes = SalesFeedback.objects.filter(lead__in=ready)
    opportunity_ids = StageChange.objects.filter(lead__in=ready, to_stage__in=OPPORTUNITY_STAGES).values(
        "lead_id"
    )
    won_ids = StageChange.objects.filter(lead__in=ready, to_stage=scoring.CUSTOMER).values("lead_id")
    checklist.became_opportunity = ready.filter(
        Q(pk__in=opportunity_ids)
        | Q(pk__in=outcomes.filter(outcome__in=["opportunity", "won"]).values("lead_id"))
    ).count()
    checklist.became_won = ready.filter(
        Q(pk__in=won_ids) | Q(pk__in=outcomes.filter(outcome="won").values("lead_id"))
    ).count()
    answers = dict(
        outcomes.filter(really_sales_ready__isnull=False)
        .values_list("really_sales_ready")
        .annotate(n=Count("id"))
        .order_by()
    )
    checklist.answers_yes, checklist.answers_no = answers.get(True, 0), answers.get(False, 0)
    checklist.good_actions = frequent_actions(leads=ready, really_sales_ready=True, top=top)
    checklist.bad_actions = frequent_actions(leads=ready, really_sales_ready=False, top=top)
    # One definition of the suggestion everywhere: the tally calibration of §4 (its inputs
    # are shown with it), not a per-version variant that would disagree with the report.
    checklist.calibration = tally_calibration()
    checklist.suggested_points = checklist.calibration.suggested_points
    return checklist


def frequent_actions(*, leads, really_sales_ready: bool, top: int = 5) -> list[dict]:
    """Actions done by the most leads reps rated good (or bad), with the share of those leads."""
    rated = SalesFeedback.objects.filter(lead__in=leads, really_sales_ready=really_sales_ready).values(
        "lead_id"
    )
    lead_total = Lead.objects.filter(pk__in=rated).count()
    if not lead_total:
        return []
    rows = (
        Event.objects.filter(lead__in=rated)
        .exclude(type="manual")
        .values("type", "name", "asset_key")
        .annotate(leads=Count("lead", distinct=True))
        .order_by("-leads", "type", "name", "asset_key")[:top]
    )
    return [
        {"action": _action_label(row), "leads": row["leads"], "share": row["leads"] / lead_total}
        for row in rows
    ]


def _action_label(row: dict) -> str:
    label = dict(Event._meta.get_field("type").choices).get(row["type"], row["type"])
    target = row["name"] or row["asset_key"]
    return f"{label}: {target}" if target else label


# --- the multi-column sheet (§2) ------------------------------------------------------------

SETTING_ROWS = (
    ("Sales-ready score (T)", "sales_ready_score"),
    ("Decay: inactivity days", "inactivity_days"),
    ("Decay: period days", "period_days"),
    ("Decay: mode", "decay_mode"),
    ("Decay: amount", "decay_amount"),
    ("Decay: floor fraction", "floor_fraction"),
    ("Cold after days", "cold_after_days"),
    ("Stage mode", "stage_mode"),
    ("Account threshold", "account_threshold"),
    ("Engagement window (days)", "engagement_days"),
    ("Account: engaged members needed", "account_min_engaged"),
)


@dataclass
class SheetCell:
    value: str
    changed: bool


@dataclass
class SheetRow:
    label: str
    kind: str  # "setting" or "rule"
    cells: list


def _number(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def _rule_key(rule) -> tuple:
    return (
        rule.event_type,
        rule.url_pattern,
        rule.event_name,
        rule.asset,
        rule.asset_flag,
        rule.product_line,
    )


def _rule_label(key: tuple) -> str:
    event_type, *targets = key
    target = " · ".join(t for t in targets if t)
    return f"{event_type}{' · ' + target if target else ''}"


def _rule_value(rule) -> str:
    if rule is None:
        return ""
    cap = f" (max {rule.max_per_day}/day)" if rule.max_per_day else ""
    return f"{rule.points:g}{cap}"


def version_sheet(*, scoring_model=None):
    """Columns: versions oldest first. Rows: settings, then every rule any version had."""
    versions = list(
        ModelVersion.objects.filter(**({"scoring_model": scoring_model} if scoring_model else {}))
        .select_related("scoring_model", "created_by", "published_by")
        .prefetch_related("rules", "citations__feedback__lead", "citations__feedback__rep")
        .order_by("scoring_model__name", "number")
    )
    rows = [
        SheetRow(label, "setting", _cells([_number(getattr(v, name)) for v in versions]))
        for label, name in SETTING_ROWS
    ]
    rule_keys, by_version = [], []
    for version in versions:
        rules = {}
        for rule in version.rules.all():
            key = _rule_key(rule)
            rules.setdefault(key, rule)  # a later duplicate never matches first (§2a ties)
            if key not in rule_keys:
                rule_keys.append(key)
        by_version.append(rules)
    rows += [
        SheetRow(_rule_label(key), "rule", _cells([_rule_value(rules.get(key)) for rules in by_version]))
        for key in rule_keys
    ]
    return versions, rows


def _cells(values: list[str]) -> list[SheetCell]:
    return [SheetCell(value, index > 0 and value != values[index - 1]) for index, value in enumerate(values)]


# --- feedback -------------------------------------------------------------------------------


def feedback_list(*, version_id=None, rep_id=None, reason=""):
    rows = SalesFeedback.objects.select_related("lead", "rep", "version")
    if version_id:
        rows = rows.filter(version_id=version_id)
    if rep_id:
        rows = rows.filter(rep_id=rep_id)
    if reason:
        rows = rows.filter(reason=reason)
    return rows.order_by("-updated_at", "-id")


def rep_leads(*, user, awaiting: bool = False):
    """The leads handed to a rep, most sales-ready first; `awaiting`: qualified ones the rep has not
    yet answered yes or no about."""
    leads = Lead.objects.filter(owner=user).select_related("account").order_by("-score", "id")
    if awaiting:
        answered = SalesFeedback.objects.filter(
            lead=OuterRef("pk"), rep=user, really_sales_ready__isnull=False
        )
        leads = leads.filter(is_qualified=True).exclude(Exists(answered))
    return leads


def attach_feedback(*, leads, user) -> None:
    """Sets `lead.my_feedback` on one page of leads (one query, not one per lead)."""
    leads = list(leads)
    feedback = {
        f.lead_id: f for f in SalesFeedback.objects.filter(rep=user, lead__in=[lead.pk for lead in leads])
    }
    for lead in leads:
        lead.my_feedback = feedback.get(lead.pk)


def good_lead_notes(*, version: ModelVersion, limit: int = 10):
    """What reps say they see in good leads, newest first (trends reps spot first, §7)."""
    return (
        SalesFeedback.objects.filter(version=version)
        .exclude(good_actions_note="")
        .select_related("rep", "lead")
        .order_by("-updated_at")[:limit]
    )


def past_reviews(*, limit: int = 20):
    return Review.objects.select_related("version", "completed_by")[:limit]


# --- preview report -------------------------------------------------------------------------


@dataclass(frozen=True)
class BucketRow:
    label: str
    active: int
    draft: int
    active_width: float
    draft_width: float


def preview_report(*, run) -> dict | None:
    """The stored preview result shaped for people: labelled bands, stage rows, percentages."""
    result = run.result
    if not result:
        return None
    threshold = result["sales_ready_score"]["draft"]
    width = 2 * threshold / BUCKETS
    widest = max([*result["buckets"]["active"], *result["buckets"]["draft"], 1])
    buckets = []
    for index, (active, draft) in enumerate(zip(result["buckets"]["active"], result["buckets"]["draft"])):
        label = (
            f"{index * width:g}–{(index + 1) * width:g}"
            if index < BUCKETS
            else f"{BUCKETS * width:g} and more"
        )
        buckets.append(BucketRow(label, active, draft, 100 * active / widest, 100 * draft / widest))
    stages = [
        {
            "label": scoring.STAGE_LABELS[stage],
            "active": result["stages"]["active"].get(str(stage), 0),
            "draft": result["stages"]["draft"].get(str(stage), 0),
        }
        for stage in scoring.STAGE_LABELS
    ]
    for row in stages:
        row["change"] = row["draft"] - row["active"]
    return {**result, "bucket_rows": buckets, "stage_rows": stages, **_holdout_source(run, result)}


def _holdout_source(run, result: dict) -> dict:
    """The learning run a suggested draft came from and where its holdout starts."""
    source = learning_source(run.draft_id) if "holdout" in result else None
    if source is None:
        return {}
    return {
        "holdout_source": source,
        "holdout_since": datetime.fromisoformat(source.result["holdout_from"]["at"]),
        "holdout_trained_on": source.result["train_size"],
    }
