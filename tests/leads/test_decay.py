from collections import defaultdict
from datetime import timedelta

import pytest

from leads.background.decay import decay_materialise
from leads.background.recalculation import EVENT_COLUMNS, EventRow
from leads.engine import scoring
from leads.ingest.assets import AssetCatalog
from leads.ingest.events import NewEvent, events_ingest
from leads.models import Event, Lead, ProductScore, StageChange
from leads.services import engine_inputs, spec_for
from tests.conftest import day
from tests.leads.bulk_data import random_leads, score_all

pytestmark = pytest.mark.django_db


def score_table():
    leads = list(
        Lead.objects.order_by("pk").values_list("pk", "score", "scored_at", "stage", "last_engaged_at")
    )
    products = list(
        ProductScore.objects.order_by("lead_id", "product_line_id").values_list(
            "lead_id", "product_line_id", "score", "scored_at"
        )
    )
    changes = list(
        StageChange.objects.order_by("lead_id", "at", "id").values_list(
            "lead_id", "from_stage", "to_stage", "at", "reason"
        )
    )
    return leads, products, changes


def engine_truth(spec, as_of):
    """Every lead replayed from its events by the pure engine and advanced to `as_of`."""
    catalog = AssetCatalog.load()
    events = defaultdict(list)
    for row in Event.objects.order_by("lead_id", "occurred_at", "id").values_list(*EVENT_COLUMNS):
        events[row[0]].append(EventRow(*row[1:]))
    return {
        pk: scoring.replay(engine_inputs(events[pk], catalog), spec, as_of=as_of)[0]
        for pk in Lead.objects.values_list("pk", flat=True)
    }


@pytest.mark.slow
def test_decay_materialise_equals_the_engine_on_10000_random_leads(spec_model):
    random_leads(10_000, seed=11, max_events=4)
    score_all(spec_model)
    now = day(260)
    result = decay_materialise(now=now)
    assert result.leads_changed > 1000  # most histories ended weeks before `now`
    truth = engine_truth(spec_for(spec_model), now)
    lines = dict(ProductScore.objects.values_list("product_line_id", "product_line__name").distinct())
    compared = 0
    for pk, score, stage in Lead.objects.values_list("pk", "score", "stage"):
        assert scoring.is_close(score, truth[pk].sales.score), pk
        assert stage == truth[pk].stage, pk
        compared += 1
    for lead_id, line_id, score in ProductScore.objects.values_list("lead_id", "product_line_id", "score"):
        assert scoring.is_close(score, truth[lead_id].products[lines[line_id]].score), lead_id
    assert compared == 10_000


def decay_table():
    leads, products, changes = score_table()
    return leads, products, [c for c in changes if c[4] == "decay"]


def assert_same_scores(a, b):
    """Equal tables; scores within 1e-6 (0.9^a·0.9^b and 0.9^(a+b) may differ in the last bit)."""
    assert [row[:1] + row[2:] for row in a[0]] == [row[:1] + row[2:] for row in b[0]]
    assert all(scoring.is_close(x[1], y[1]) for x, y in zip(a[0], b[0]))
    assert [row[:2] + row[3:] for row in a[1]] == [row[:2] + row[3:] for row in b[1]]
    assert all(scoring.is_close(x[2], y[2]) for x, y in zip(a[1], b[1]))
    assert a[2] == b[2]


def test_decay_materialise_twice_or_in_steps_equals_one_clean_run(spec_model):
    random_leads(600, seed=3)
    score_all(spec_model)
    decay_materialise(now=day(230))
    decay_materialise(now=day(260))
    stepped = decay_table()
    decay_materialise(now=day(260))
    assert decay_table() == stepped  # a second run for the same instant changes nothing at all

    StageChange.objects.filter(reason="decay").delete()
    score_all(spec_model)  # back to the undecayed scores
    decay_materialise(now=day(260))  # one clean run straight to day 260
    assert_same_scores(decay_table(), stepped)
    assert len(stepped[2]) > 10


def test_decay_moves_a_sales_ready_lead_back_with_reason_decay_at_the_tick(spec_model):
    lead = Lead.objects.create(email="fading@example.com")
    events_ingest(
        events=[
            NewEvent(type="custom", name="Trial Started", occurred_at=day(0), lead_id=lead.pk),
            NewEvent(type="form_submit", occurred_at=day(0) + timedelta(hours=1), lead_id=lead.pk),
            NewEvent(type="form_submit", occurred_at=day(0) + timedelta(hours=2), lead_id=lead.pk),
            NewEvent(type="form_submit", occurred_at=day(0) + timedelta(hours=3), lead_id=lead.pk),
        ],
        now=day(0) + timedelta(hours=3),
    )
    lead.refresh_from_db()
    assert lead.score == 105 and lead.stage == scoring.SALES_READY
    decay_materialise(now=day(40))
    lead.refresh_from_db()
    # Last engagement day 0 + 3 h; first tick 30 days later: 105 × 0.9 = 94.5; the next at +37 d: 85.05.
    first_tick = day(30) + timedelta(hours=3)
    assert lead.score == pytest.approx(85.05)
    assert lead.scored_at == first_tick + timedelta(days=7)
    change = StageChange.objects.get(lead=lead, reason="decay")
    assert (change.from_stage, change.to_stage, change.at) == (
        scoring.SALES_READY,
        scoring.STAGE_3,
        first_tick,
    )
    assert lead.stage == scoring.STAGE_3 and lead.stage_changed_at == first_tick


def test_decay_never_takes_a_score_below_half_of_t(spec_model):
    lead = Lead.objects.create(email="floor@example.com")
    events_ingest(
        events=[
            NewEvent(type="custom", name="Trial Started", occurred_at=day(0), lead_id=lead.pk),
            NewEvent(type="form_submit", occurred_at=day(0), lead_id=lead.pk),
        ],
        now=day(0),
    )
    decay_materialise(now=day(400))
    lead.refresh_from_db()
    assert lead.score == 50.0  # 55 decays once to 49.5, which the floor F = 50 stops at 50


@pytest.mark.django_db(transaction=True)
def test_decay_in_parallel_sessions_equals_the_engine_and_repeats_as_a_no_op():
    """Outside a caller's transaction, PostgreSQL decays id ranges in sessions side by side
    (SQLite in one): every lead still ends at the engine's score and stage, once."""
    from models_review.services import version_import
    from tests.conftest import SPEC_MODEL

    version = version_import(data=SPEC_MODEL, publish=True)
    random_leads(1500, seed=23, max_events=5)
    score_all(version)
    stages_before = dict(Lead.objects.values_list("pk", "stage"))
    now = day(250)
    first = decay_materialise(now=now, chunk_size=100)
    assert first.leads_changed > 300
    truth = engine_truth(spec_for(version), now)
    for pk, score, stage in Lead.objects.values_list("pk", "score", "stage"):
        assert scoring.is_close(score, truth[pk].sales.score), pk
        assert stage == truth[pk].stage, pk
    moved = {pk for pk, state in truth.items() if state.stage != stages_before[pk]}
    assert set(StageChange.objects.filter(reason="decay").values_list("lead_id", flat=True)) == moved != set()
    once = decay_table()
    assert (
        str(decay_materialise(now=now, chunk_size=100))
        == "0 leads decayed, 0 product scores, 0 stages moved back"
    )
    assert decay_table() == once
