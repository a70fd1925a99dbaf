from datetime import timedelta

import pytest
from django.utils import timezone

from benchmarks.pages import backfill_snapshots, percentile
from leads.models import StageChange, StageSnapshot
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_backfill_rebuilds_past_days_from_the_stage_log_and_keeps_existing_snapshots():
    now = timezone.now().replace(hour=12, minute=0, second=0, microsecond=0)  # noon: no day boundary nearby
    climber, _ = LeadFactory(stage=3), LeadFactory(stage=1)
    StageChange.objects.create(
        lead=climber, from_stage=1, to_stage=2, at=now - timedelta(days=3), reason="event"
    )
    StageChange.objects.create(
        lead=climber, from_stage=2, to_stage=3, at=now - timedelta(days=1, hours=1), reason="event"
    )
    kept = StageSnapshot.objects.create(day=(now - timedelta(days=1)).date(), stage=1, count=99)
    assert backfill_snapshots(4) == 3
    by_day = {}
    for snap in StageSnapshot.objects.all():
        by_day.setdefault((now.date() - snap.day).days, {})[snap.stage] = snap.count
    assert by_day[4] == {1: 2}
    assert by_day[2] == {1: 1, 2: 1}
    assert by_day[1] == {1: kept.count}  # never overwritten


def test_percentile_is_a_value_that_was_measured():
    samples = [float(n) for n in range(1, 21)]
    assert percentile(samples, 0.5) == 10.0 and percentile(samples, 0.95) == 19.0
