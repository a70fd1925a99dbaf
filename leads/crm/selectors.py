"""Reads for CRM sync: which leads changed since their last successful push (one set-based
query, walked in id order), and the values a batch of them sends."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime

from django.db.models import F, FilteredRelation, Q, Value
from django.db.models.functions import Abs, Coalesce

from leads.crm.connectors import PushRecord
from leads.crm.models import CrmConnection, LeadSync, SyncRun
from leads.engine import scoring
from leads.ingest.assets import AssetCatalog
from leads.models import Event, Lead, Stage
from leads.services import active_version, engine_inputs, spec_for

WHY_LINES = 3


def changed_leads(*, connection: CrmConnection):
    """Leads with an email whose pushed values moved: never pushed, score by at least the
    connection's delta, another stage, another account or an account score moved by the delta.
    Unmatched leads count as pushed with the values they had."""
    delta = connection.score_delta
    leads = (
        Lead.objects.exclude(email__isnull=True)
        .exclude(email="")
        .annotate(
            sync=FilteredRelation("crm_syncs", condition=Q(crm_syncs__connection=connection)),
            account_now=Coalesce(F("account_id"), Value(0)),
            account_then=Coalesce(F("sync__account_id"), Value(0)),
            account_score_now=Coalesce(F("account__score"), Value(0.0)),
            account_score_then=Coalesce(F("sync__account_score"), Value(0.0)),
            score_moved=Abs(F("score") - Coalesce(F("sync__score"), Value(0.0))),
            account_score_moved=Abs(F("account_score_now") - F("account_score_then")),
        )
    )
    return leads.filter(
        Q(sync__pushed_at__isnull=True)
        | Q(score_moved__gte=delta)
        | ~Q(stage=F("sync__stage"))
        | ~Q(account_now=F("account_then"))
        | Q(account_score_moved__gte=delta)
    )


def changed_batches(
    *, connection: CrmConnection, size: int, limit: int | None = None
) -> Iterator[list[Lead]]:
    """Changed leads in id order, `size` at a time. Each batch is queried afresh after the last
    id, so marking a batch pushed between two batches is seen and memory stays one batch."""
    after, given = 0, 0
    while limit is None or given < limit:
        take = size if limit is None else min(size, limit - given)
        batch = list(
            changed_leads(connection=connection)
            .filter(id__gt=after)
            .select_related("account")
            .order_by("id")[:take]
        )
        if not batch:
            return
        yield batch
        given += len(batch)
        after = batch[-1].id


def push_records(*, connection: CrmConnection, leads: list[Lead], now: datetime) -> list[PushRecord]:
    mapping = connection.mapping
    why = why_lines(leads=leads, as_of=now) if mapping.get("why") else {}
    records = []
    for lead in leads:
        values = {
            "score": round(lead.score, 1),
            "stage": Stage(lead.stage).label,
            "account_score": round(lead.account.score, 1) if lead.account else "",
            "why": why.get(lead.id, ""),
            "updated_at": now.isoformat(timespec="seconds"),
        }
        if lead.likelihood is not None:
            values["likelihood"] = round(lead.likelihood, 3)
        properties = {mapping[name]: value for name, value in values.items() if mapping.get(name)}
        records.append(PushRecord(lead_id=lead.id, email=lead.email, properties=properties))
    return records


def why_lines(*, leads: list[Lead], as_of: datetime) -> dict[int, str]:
    """ "pricing page +30, webinar +25, download +10": the three rules that gave each lead the
    most points, from one events query for the whole batch and the engine's replay."""
    try:
        version = active_version()
    except LookupError:
        return {}
    spec, catalog = spec_for(version), AssetCatalog.load()
    events_by_lead = defaultdict(list)
    for event in Event.objects.filter(lead__in=[lead.id for lead in leads]).order_by(
        "lead_id", "occurred_at", "id"
    ):
        events_by_lead[event.lead_id].append(event)
    lines = {}
    for lead in leads:
        events = events_by_lead.get(lead.id)
        if not events:
            continue
        _, outcome = scoring.replay(
            engine_inputs(events, catalog), spec, as_of=max(as_of, events[-1].occurred_at)
        )
        points = defaultdict(float)
        for line in outcome.contributions:
            if line.kind == "event" and line.delta > 0 and line.rule_index is not None:
                points[_rule_name(spec.rules[line.rule_index])] += line.delta
        top = sorted(points.items(), key=lambda item: (-item[1], item[0]))[:WHY_LINES]
        lines[lead.id] = ", ".join(f"{name} +{value:g}" for name, value in top)[:250]
    return lines


def _rule_name(rule) -> str:
    target = rule.url_pattern or rule.event_name or rule.asset or rule.asset_flag or rule.product_line or ""
    return f"{rule.event_type.replace('_', ' ')}{' ' + target if target else ''}"


def push_queued_at(*, connection: CrmConnection) -> datetime | None:
    """When "Push now" queued a push that has not started yet: a queued job newer than the
    connection's last push run. None when nothing is waiting."""
    from leads.models import OutboxJob

    queued = (
        OutboxJob.objects.filter(reference=f"crm-push:{connection.kind}")
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )
    last_start = (
        connection.runs.filter(direction=SyncRun.Direction.PUSH)
        .order_by("-started_at")
        .values_list("started_at", flat=True)
        .first()
    )
    if queued is None or (last_start is not None and last_start >= queued):
        return None
    return queued


def sync_overview(*, connection: CrmConnection, runs: int = 10, waiting: int = 20) -> dict:
    return {
        "push_queued_at": push_queued_at(connection=connection),
        "connection": connection,
        "runs": list(connection.runs.all()[:runs]),
        "pending": changed_leads(connection=connection).count(),
        "waiting": list(
            changed_leads(connection=connection).select_related("account").order_by("id")[:waiting]
        ),
        "refused": list(
            LeadSync.objects.filter(connection=connection)
            .exclude(status=LeadSync.Status.SYNCED)
            .select_related("lead")
            .order_by("-updated_at")[:waiting]
        ),
        "last_errors": next(
            (run.errors for run in connection.runs.exclude(errors=[]).order_by("-started_at")[:1]), []
        ),
        "last_push": connection.runs.filter(direction=SyncRun.Direction.PUSH).first(),
    }
