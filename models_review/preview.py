"""Preview a draft before publishing (§7): every lead replayed from its events under the
draft and under the active version, with the pure engine, chunk by chunk.

Memory stays flat: one chunk of leads and their events at a time; only counts, the
(capped) gain/lose lists and the few leads with sales feedback are kept across chunks."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from leads.engine import scoring
from leads.ingest.assets import AssetCatalog
from leads.models import Event, Lead
from leads.services import engine_inputs, spec_for
from models_review.models import PreviewRun, SalesFeedback

log = logging.getLogger(__name__)

CHUNK_SIZE = 500
LIST_LIMIT = 500  # leads listed per gain/lose list; the counts stay exact
BUCKETS = 10  # score bands of T/5 from 0 to 2T, plus "2T and more"
VERSIONS = ("active", "draft")


@dataclass
class Judgement:
    really_sales_ready: bool | None
    outcome: str
    marked: dict = field(default_factory=dict)  # version → marked sales-ready?


@dataclass
class Tally:
    specs: dict
    gains: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    gain_count: int = 0
    loss_count: int = 0
    sales_ready: dict = field(default_factory=lambda: dict.fromkeys(VERSIONS, 0))
    stages: dict = field(default_factory=lambda: {name: {} for name in VERSIONS})
    buckets: dict = field(default_factory=lambda: {name: [0] * (BUCKETS + 1) for name in VERSIONS})
    judgements: dict = field(default_factory=dict)

    def add(self, lead: dict, states: dict) -> None:
        marked = {}
        for name in VERSIONS:
            spec, state = self.specs[name], states[name]
            stage = lead["stage"] if lead["stage"] in scoring.SALES_OWNED_STAGES else state.stage
            self.stages[name][stage] = self.stages[name].get(stage, 0) + 1
            self.buckets[name][_bucket(state.sales.score, spec.sales_ready_score)] += 1
            marked[name] = state.sales.score >= spec.sales_ready_score
            self.sales_ready[name] += marked[name]
        if marked["draft"] != marked["active"]:
            row = {
                "id": lead["id"],
                "name": lead["name"] or lead["email"] or f"Lead #{lead['id']}",
                "active": round(states["active"].sales.score, 2),
                "draft": round(states["draft"].sales.score, 2),
            }
            if marked["draft"]:
                self.gain_count += 1
                self.gains.append(row) if len(self.gains) < LIST_LIMIT else None
            else:
                self.loss_count += 1
                self.losses.append(row) if len(self.losses) < LIST_LIMIT else None
        if lead["id"] in self.judgements:
            self.judgements[lead["id"]].marked = marked

    def result(self) -> dict:
        return {
            "sales_ready_score": {name: self.specs[name].sales_ready_score for name in VERSIONS},
            "sales_ready": self.sales_ready,
            "gain_count": self.gain_count,
            "loss_count": self.loss_count,
            "gains": sorted(self.gains, key=lambda r: -r["draft"]),
            "losses": sorted(self.losses, key=lambda r: -r["active"]),
            "stages": {name: {str(k): v for k, v in counts.items()} for name, counts in self.stages.items()},
            "buckets": self.buckets,
            "agreement": {name: agreement(self.judgements.values(), name) for name in VERSIONS},
        }


def _bucket(score: float, sales_ready_score: float) -> int:
    width = 2 * sales_ready_score / BUCKETS
    return min(int(score // width), BUCKETS) if width > 0 else 0


def agreement(judgements, version: str) -> dict:
    """How a version's sales-ready mark agrees with what sales said (precision and recall)."""
    judgements = [j for j in judgements if version in j.marked]
    yes = [j for j in judgements if j.really_sales_ready is True]
    no = [j for j in judgements if j.really_sales_ready is False]
    won_or_opportunity = [j for j in judgements if j.outcome in ("opportunity", "won")]
    lost = [j for j in judgements if j.outcome == "lost"]
    true_yes = sum(j.marked[version] for j in yes)
    false_yes = sum(j.marked[version] for j in no)
    true_opportunity = sum(j.marked[version] for j in won_or_opportunity)
    false_opportunity = sum(j.marked[version] for j in lost)
    return {
        "judged_yes": len(yes),
        "judged_no": len(no),
        "marked_of_yes": true_yes,
        "marked_of_no": false_yes,
        "precision": _ratio(true_yes, true_yes + false_yes),
        "recall": _ratio(true_yes, len(yes)),
        "opportunities": len(won_or_opportunity),
        "lost": len(lost),
        "marked_of_opportunities": true_opportunity,
        "marked_of_lost": false_opportunity,
        "outcome_precision": _ratio(true_opportunity, true_opportunity + false_opportunity),
        "outcome_recall": _ratio(true_opportunity, len(won_or_opportunity)),
    }


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _latest_judgements() -> dict[int, Judgement]:
    judgements = {}
    rows = SalesFeedback.objects.order_by("lead_id", "updated_at", "id").values_list(
        "lead_id", "really_sales_ready", "outcome"
    )
    for lead_id, really, outcome in rows.iterator(chunk_size=2000):
        judgements[lead_id] = Judgement(really, outcome)  # the latest row per lead wins
    return judgements


def _lead_chunks():
    last_id = 0
    while True:
        chunk = list(
            Lead.objects.filter(pk__gt=last_id)
            .order_by("pk")
            .values("id", "stage", "name", "email")[:CHUNK_SIZE]
        )
        if not chunk:
            return
        yield chunk
        last_id = chunk[-1]["id"]


def _replay_chunk(chunk: list[dict], tally: Tally, catalog: AssetCatalog, as_of) -> None:
    events = (
        Event.objects.filter(lead_id__in=[lead["id"] for lead in chunk])
        .order_by("lead_id", "occurred_at", "id")
        .only("id", "lead_id", "type", "name", "url", "asset_key", "occurred_at", "properties")
    )
    by_lead = {
        lead_id: list(rows)
        for lead_id, rows in itertools.groupby(events.iterator(chunk_size=2000), key=lambda e: e.lead_id)
    }
    for lead in chunk:
        inputs = engine_inputs(by_lead.get(lead["id"], []), catalog)
        states = {name: scoring.replay(inputs, tally.specs[name], as_of=as_of)[0] for name in VERSIONS}
        tally.add(lead, states)


def compute(*, run_id: int) -> None:
    run = PreviewRun.objects.select_related("draft", "baseline").get(pk=run_id)
    if run.status == PreviewRun.Status.DONE:
        return  # a re-delivered job changes nothing
    as_of = run.as_of or timezone.now()
    PreviewRun.objects.filter(pk=run_id).update(
        status=PreviewRun.Status.RUNNING,
        total=Lead.objects.count(),
        done=0,
        as_of=as_of,
        started_at=timezone.now(),
        error="",
    )
    try:
        tally = Tally(specs={"active": spec_for(run.baseline), "draft": run.draft.spec()})
        tally.judgements = _latest_judgements()
        catalog, done = AssetCatalog.load(), 0
        for chunk in _lead_chunks():
            _replay_chunk(chunk, tally, catalog, as_of)
            done += len(chunk)
            PreviewRun.objects.filter(pk=run_id).update(done=done)
        with transaction.atomic():
            PreviewRun.objects.filter(pk=run_id).update(
                status=PreviewRun.Status.DONE,
                done=done,
                total=done,
                result=tally.result(),
                finished_at=timezone.now(),
            )
    except Exception as error:
        log.exception("Preview %s failed", run_id)
        PreviewRun.objects.filter(pk=run_id).update(
            status=PreviewRun.Status.FAILED,
            error=f"The preview failed: {error}. Start it again; nothing was changed.",
            finished_at=timezone.now(),
        )
        raise
