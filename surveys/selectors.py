"""Reads for the NPS dashboard (SPEC §8) and the engagement-vs-NPS view (§4)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.core.cache import cache
from django.db.models import Count, F, Max, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from leads.engine import scoring
from leads.ingest.assets import AssetCatalog
from leads.models import Event, Lead, Segment
from leads.services import active_version, engine_inputs, spec_for
from leads.workspace.filters import FilterError, segment_members
from surveys.models import Invitation, Response, Survey
from surveys.nps import PASSIVE_MIN, PROMOTER_MIN, SCORES, NpsSummary, nps_group

ENGAGEMENT_DAYS = 90
ENGAGEMENT_SAMPLE = 400
TREND_MONTHS = 12

GROUP_COUNTS = {
    "promoters": Count("id", filter=Q(score__gte=PROMOTER_MIN)),
    "passives": Count("id", filter=Q(score__gte=PASSIVE_MIN, score__lt=PROMOTER_MIN)),
    "detractors": Count("id", filter=Q(score__lt=PASSIVE_MIN)),
}
LEAD_GROUP_COUNTS = {
    "promoters": Count("id", filter=Q(nps_score__gte=PROMOTER_MIN)),
    "passives": Count("id", filter=Q(nps_score__gte=PASSIVE_MIN, nps_score__lt=PROMOTER_MIN)),
    "detractors": Count("id", filter=Q(nps_score__lt=PASSIVE_MIN)),
}


def responses(*, survey: Survey | None = None) -> QuerySet:
    rows = Response.objects.all()
    return rows.filter(survey=survey) if survey is not None else rows


def nps_summary(*, survey: Survey | None = None) -> NpsSummary:
    return _summary(responses(survey=survey).aggregate(**GROUP_COUNTS))


def _summary(row: dict) -> NpsSummary:
    return NpsSummary(row["promoters"] or 0, row["passives"] or 0, row["detractors"] or 0)


def score_distribution(*, survey: Survey | None = None) -> list[int]:
    """Answers per score, 0 to 10 (every score present, zeros included)."""
    counts = dict(responses(survey=survey).values_list("score").annotate(n=Count("id")).order_by())
    return [counts.get(score, 0) for score in SCORES]


@dataclass(frozen=True)
class MonthNps:
    month: date
    summary: NpsSummary

    @property
    def label(self) -> str:
        return self.month.strftime("%b %Y")


def nps_trend(
    *, survey: Survey | None = None, months: int = TREND_MONTHS, now: datetime | None = None
) -> list[MonthNps]:
    """NPS per calendar month (in TIME_ZONE) for the last `months` months, oldest first; a month
    without answers has "no data", not zero."""
    now = now or timezone.now()
    first = _month_start(now.date(), months - 1)
    since = datetime(first.year, first.month, 1, tzinfo=now.tzinfo or timezone.get_current_timezone())
    rows = (
        responses(survey=survey)
        .filter(answered_at__gte=since, answered_at__lte=now)
        .annotate(month=TruncMonth("answered_at"))
        .values("month")
        .annotate(**GROUP_COUNTS)
        .order_by()
    )
    by_month = {(row["month"].year, row["month"].month): _summary(row) for row in rows}
    result = []
    for offset in range(months - 1, -1, -1):
        month = _month_start(now.date(), offset)
        result.append(MonthNps(month, by_month.get((month.year, month.month), NpsSummary())))
    return result


@dataclass(frozen=True)
class TrendRange:
    first: date
    last: date
    older: int  # answers in the headline NPS that fall before the first month drawn


def trend_range(
    *, survey: Survey | None = None, months: int = TREND_MONTHS, now: datetime | None = None
) -> TrendRange:
    now = now or timezone.now()
    first = _month_start(now.date(), months - 1)
    since = datetime(first.year, first.month, 1, tzinfo=now.tzinfo or timezone.get_current_timezone())
    older = responses(survey=survey).filter(answered_at__lt=since).count()
    return TrendRange(first, _month_start(now.date(), 0), older)


def _month_start(day: date, months_back: int) -> date:
    index = day.year * 12 + day.month - 1 - months_back
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class ResponseRate:
    answered: int
    sent: int
    pending: int

    @property
    def percent(self) -> float | None:
        return 100.0 * self.answered / self.sent if self.sent else None


def response_rate(*, survey: Survey | None = None) -> ResponseRate:
    invitations = Invitation.objects.all() if survey is None else Invitation.objects.filter(survey=survey)
    counts = dict(invitations.values_list("status").annotate(n=Count("id")).order_by())
    answered = counts.get(Invitation.Status.ANSWERED, 0)
    return ResponseRate(
        answered=answered,
        sent=answered + counts.get(Invitation.Status.SENT, 0),
        pending=counts.get(Invitation.Status.PENDING, 0),
    )


@dataclass(frozen=True)
class GroupNps:
    name: str
    summary: NpsSummary
    pk: int | None = None
    note: str = ""


def latest_answers(*, survey: Survey) -> QuerySet:
    """Each lead's latest answer to one survey (public answers have no lead and are left out):
    what "each lead's latest answer" means once a survey is chosen."""
    newest = (
        Response.objects.filter(survey=survey, lead=OuterRef("lead"))
        .order_by("-answered_at", "-id")
        .values("id")[:1]
    )
    return Response.objects.filter(survey=survey, lead__isnull=False, id=Subquery(newest))


def nps_by_account(*, survey: Survey | None = None, limit: int = 15) -> list[GroupNps]:
    """Each account's NPS from its leads' latest answers (to the survey, if one is chosen),
    most answers first."""
    if survey is not None:
        rows = (
            latest_answers(survey=survey)
            .filter(lead__account__isnull=False)
            .values("lead__account", "lead__account__name")
            .annotate(total=Count("id"), **GROUP_COUNTS)
            .order_by("-total", "lead__account__name")[:limit]
        )
        return [GroupNps(row["lead__account__name"], _summary(row), pk=row["lead__account"]) for row in rows]
    rows = (
        Lead.objects.filter(nps_score__isnull=False, account__isnull=False)
        .values("account", "account__name")
        .annotate(total=Count("id"), **LEAD_GROUP_COUNTS)
        .order_by("-total", "account__name")[:limit]
    )
    return [GroupNps(row["account__name"], _summary(row), pk=row["account"]) for row in rows]


def nps_by_segment(*, survey: Survey | None = None, limit: int = 30) -> list[GroupNps]:
    """Each saved segment's NPS from its members' latest answers (one aggregate per segment)."""
    result = []
    for segment in Segment.objects.order_by("name")[:limit]:
        try:
            members = segment_members(segment).order_by()
        except FilterError as error:
            result.append(GroupNps(segment.name, NpsSummary(), pk=segment.pk, note=f"Filter error: {error}"))
            continue
        if survey is not None:
            row = (
                latest_answers(survey=survey).filter(lead__in=members.values("id")).aggregate(**GROUP_COUNTS)
            )
        else:
            row = members.filter(nps_score__isnull=False).aggregate(**LEAD_GROUP_COUNTS)
        result.append(GroupNps(segment.name, _summary(row), pk=segment.pk))
    return result


def survey_list(*, limit: int = 50) -> QuerySet:
    """Surveys with `sent` (personal links delivered, answered or not), `answered` (of those
    links) and `public_answers` (from the public link), so "Answers" never mixes the two."""

    # Subqueries, not joined counts: joining invitations to responses would multiply rows.
    def count(rows):
        return Coalesce(Subquery(rows.order_by().values("survey").annotate(n=Count("id")).values("n")), 0)

    links = Invitation.objects.filter(survey=OuterRef("pk"))
    return Survey.objects.annotate(
        sent=count(links.exclude(status=Invitation.Status.PENDING)),
        answered=count(links.filter(status=Invitation.Status.ANSWERED)),
        public_answers=count(Response.objects.filter(survey=OuterRef("pk"), channel=Response.Channel.PUBLIC)),
    ).order_by("-created_at", "-id")[:limit]


@dataclass(frozen=True)
class InvitationCounts:
    invitations: int
    pending: int
    sent: int  # delivered links, answered or not
    answered: int  # of the delivered links
    public_answers: int


def invitation_counts(*, survey: Survey) -> InvitationCounts:
    counts = dict(survey.invitations.values_list("status").annotate(n=Count("id")).order_by())
    pending = counts.get(Invitation.Status.PENDING, 0)
    answered = counts.get(Invitation.Status.ANSWERED, 0)
    return InvitationCounts(
        invitations=sum(counts.values()),
        pending=pending,
        sent=answered + counts.get(Invitation.Status.SENT, 0),
        answered=answered,
        public_answers=survey.responses.filter(channel=Response.Channel.PUBLIC).count(),
    )


def follow_up_answers(*, survey: Survey | None = None, limit: int = 12) -> QuerySet:
    return (
        responses(survey=survey)
        .exclude(reason="")
        .select_related("lead", "survey")
        .order_by("-answered_at", "-id")[:limit]
    )


# --- engagement vs NPS ----------------------------------------------------------------------------


@dataclass(frozen=True)
class EngagedRespondent:
    lead: Lead
    engagement: float
    score: int  # the answer counted: the lead's latest, or its latest to the chosen survey
    answered_at: datetime | None

    @property
    def group(self) -> str:
        return nps_group(self.score)


@dataclass(frozen=True)
class EngagementView:
    respondents: int
    measured: list[EngagedRespondent]
    truncated: bool
    since: datetime
    group_sizes: dict[str, int]

    def active(self, group: str, limit: int = 10) -> list[EngagedRespondent]:
        rows = [r for r in self.measured if r.group == group and r.engagement > 0]
        return sorted(rows, key=lambda r: (-r.engagement, r.lead.pk))[:limit]

    @property
    def active_promoters(self):
        return self.active("promoter")

    @property
    def active_detractors(self):
        return self.active("detractor")

    def average(self, group: str) -> float | None:
        """Average engagement of a group's respondents. Those not measured earned nothing
        in the window (their last engagement is older), so they count as 0."""
        if self.truncated:
            return None
        members = [r.engagement for r in self.measured if r.group == group]
        return None if not self.group_size(group) else sum(members) / self.group_size(group)

    def group_size(self, group: str) -> int:
        return self.group_sizes.get(group, 0)

    @property
    def averages(self) -> list[tuple[str, float | None, int]]:
        return [
            (group, self.average(group), self.group_size(group))
            for group in ("promoter", "passive", "detractor")
        ]


def engagement_vs_nps(
    *,
    now: datetime | None = None,
    days: int = ENGAGEMENT_DAYS,
    sample: int = ENGAGEMENT_SAMPLE,
    survey: Survey | None = None,
) -> EngagementView:
    """Points each answering lead earned in the last `days` (§4), from the score engine.

    Only leads whose last engagement falls in the window can have earned points in it
    (last_engaged_at is the latest event that earned > 0), so that index narrows the set;
    the most recently engaged `sample` of them are replayed, in chunks."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    answered = _answered_leads(survey)
    sizes = {}
    for score, count in answered.values_list("answer").annotate(n=Count("id")).order_by():
        sizes[nps_group(score)] = sizes.get(nps_group(score), 0) + count
    candidates = (
        answered.filter(last_engaged_at__gte=since)
        .select_related("account")
        .order_by("-last_engaged_at", "id")
    )
    leads = list(candidates[: sample + 1])
    truncated = len(leads) > sample
    leads = leads[:sample]
    engagement = engagement_points(lead_ids=[lead.pk for lead in leads], since=since, now=now)
    measured = [
        EngagedRespondent(lead, engagement.get(lead.pk, 0.0), lead.answer, lead.answer_at) for lead in leads
    ]
    return EngagementView(
        respondents=sum(sizes.values()),
        measured=measured,
        truncated=truncated,
        since=since,
        group_sizes=sizes,
    )


def _answered_leads(survey: Survey | None) -> QuerySet:
    """Leads with an answer, annotated with the one that counts (`answer`, `answer_at`)."""
    if survey is None:
        return Lead.objects.filter(nps_score__isnull=False).annotate(
            answer=F("nps_score"), answer_at=F("nps_answered_at")
        )
    newest = Response.objects.filter(survey=survey, lead=OuterRef("pk")).order_by("-answered_at", "-id")
    return Lead.objects.annotate(
        answer=Subquery(newest.values("score")[:1]), answer_at=Subquery(newest.values("answered_at")[:1])
    ).filter(answer__isnull=False)


def engagement_points(
    *, lead_ids: list[int], since: datetime, now: datetime, chunk: int = 100
) -> dict[int, float]:
    """Positive points earned since `since`, per lead, by replaying each lead under the
    active version — the same arithmetic as the lead's own score (§3, §4)."""
    spec, catalog = spec_for(active_version()), AssetCatalog.load()
    result = {}
    for start in range(0, len(lead_ids), chunk):
        events_by_lead = defaultdict(list)
        rows = Event.objects.filter(lead_id__in=lead_ids[start : start + chunk]).order_by(
            "lead_id", "occurred_at", "id"
        )
        for event in rows.iterator(chunk_size=2000):
            events_by_lead[event.lead_id].append(event)
        for lead_id, events in events_by_lead.items():
            _, outcome = scoring.replay(
                engine_inputs(events, catalog), spec, as_of=max(now, events[-1].occurred_at)
            )
            result[lead_id] = scoring.points_in_window(outcome.contributions, since)
    return result


def engagement_vs_nps_cached(
    *, now: datetime | None = None, ttl_seconds: int = 300, survey: Survey | None = None
) -> EngagementView:
    """The dashboard and its scatter chart both show this, and replaying a few hundred leads
    takes a second or more; one result serves both for a few minutes. The key holds what
    would change the answer: the model version, the newest event and answer, the window."""
    now = now or timezone.now()
    answered = Lead.objects.filter(nps_score__isnull=False).aggregate(
        n=Count("id"), latest=Max("nps_answered_at")
    )
    newest_event = Event.objects.aggregate(newest=Max("id"))["newest"]
    window = int(now.timestamp()) // ttl_seconds
    parts = (
        active_version().pk,
        answered["n"],
        answered["latest"],
        newest_event,
        window,
        survey and survey.pk,
    )
    key = "nps-engagement:" + hashlib.sha1(repr(parts).encode()).hexdigest()
    return cache.get_or_set(key, lambda: engagement_vs_nps(now=now, survey=survey), ttl_seconds)
