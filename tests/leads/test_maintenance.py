from datetime import date

import pytest

from leads.background.daily import accounts_rollup_all, cold_detect, snapshot_take, snapshots_backfill
from leads.engine import scoring
from leads.ingest.events import NewEvent, events_ingest
from leads.models import Account, Lead, Segment, StageChange, StageSnapshot
from leads.workspace.filters import segment_members
from tests.conftest import day
from tests.factories import AccountFactory, LeadFactory

pytestmark = pytest.mark.django_db


def snapshot(day_):
    return dict(StageSnapshot.objects.filter(day=day_).values_list("stage", "count"))


def test_snapshot_take_counts_leads_per_stage_and_a_rerun_overwrites(spec_model):
    LeadFactory.create_batch(3)
    LeadFactory.create_batch(2, stage=scoring.SALES_READY)
    snapshot_take(day=date(2026, 3, 1))
    snapshot_take(day=date(2026, 3, 1))
    assert StageSnapshot.objects.count() == 7  # one row per stage, not two
    assert snapshot(date(2026, 3, 1)) == {1: 3, 2: 0, 3: 0, 4: 2, 5: 0, 6: 0, 9: 0}


def test_snapshots_backfill_rebuilds_past_days_from_the_stage_change_log(spec_model, settings):
    a, b = LeadFactory(), LeadFactory()
    Lead.objects.filter(pk__in=[a.pk, b.pk]).update(created_at=day(0), appeared_at=day(0))
    StageChange.objects.create(lead=a, from_stage=1, to_stage=2, at=day(1), reason="event")
    StageChange.objects.create(lead=a, from_stage=2, to_stage=4, at=day(3), reason="event")
    StageChange.objects.create(lead=a, from_stage=4, to_stage=3, at=day(5), reason="decay")
    StageChange.objects.create(lead=b, from_stage=1, to_stage=2, at=day(4), reason="event")
    snapshots_backfill(until=day(5).date(), days=6)
    counts = {d: snapshot(day(d).date()) for d in range(6)}
    assert {k: v for k, v in counts[0].items() if v} == {1: 2}
    assert {k: v for k, v in counts[1].items() if v} == {1: 1, 2: 1}
    assert {k: v for k, v in counts[3].items() if v} == {1: 1, 4: 1}
    assert {k: v for k, v in counts[4].items() if v} == {2: 1, 4: 1}
    assert {k: v for k, v in counts[5].items() if v} == {2: 1, 3: 1}
    snapshots_backfill(until=day(5).date(), days=6)
    assert StageSnapshot.objects.count() == 6 * 7  # idempotent


def test_snapshots_backfill_counts_a_lead_from_its_first_event(spec_model):
    lead = LeadFactory()  # created today, but its history goes back to day 2
    events_ingest(events=[NewEvent(type="form_submit", occurred_at=day(2), lead_id=lead.pk)], now=day(2))
    snapshots_backfill(until=day(3).date(), days=3)
    assert sum(snapshot(day(1).date()).values()) == 0
    assert snapshot(day(2).date())[scoring.STAGE_1] == 1


def test_cold_detect_flags_after_the_window_and_unflags_on_engagement(spec_model):
    lead = LeadFactory()
    events_ingest(events=[NewEvent(type="form_submit", occurred_at=day(0), lead_id=lead.pk)], now=day(0))
    assert cold_detect(now=day(29)) == (0, 0)
    assert cold_detect(now=day(31)) == (1, 0)
    lead.refresh_from_db()
    assert lead.is_cold and lead.cold_since == day(30)  # the window ran out at day 30
    assert cold_detect(now=day(31)) == (0, 0)  # idempotent
    segment = Segment.objects.get(built_in="cold-nurture")
    assert (segment.name, segment.filters, segment.order) == ("Cold — nurture", {"cold": "1"}, "score")
    assert list(segment_members(segment)) == [lead]
    events_ingest(events=[NewEvent(type="form_submit", occurred_at=day(40), lead_id=lead.pk)], now=day(40))
    lead.refresh_from_db()
    assert not lead.is_cold and list(segment_members(segment)) == []


def test_accounts_rollup_all_sums_engaged_member_scores_set_based(spec_model):
    big, small, empty = AccountFactory(), AccountFactory(), AccountFactory(score=50, member_count=3)
    LeadFactory(account=big, score=150, last_engaged_at=day(90))
    LeadFactory(account=big, score=70.5, last_engaged_at=day(10))  # 90 days before day 100: still in
    LeadFactory(account=big, score=60, last_engaged_at=day(9))  # 91 days: dormant, counts 0
    LeadFactory(account=small, score=20)  # never engaged
    assert accounts_rollup_all(as_of=day(100)) == 3
    rows = {
        a.pk: (a.score, a.member_count, a.engaged_members, a.is_sales_ready) for a in Account.objects.all()
    }
    assert rows[big.pk] == (220.5, 3, 2, True)  # 150 + 70.5 ≥ 200 with 2 engaged
    assert rows[small.pk] == (0, 1, 0, False)
    assert rows[empty.pk] == (0, 0, 0, False)
