"""Acceptance (§7, §9): a worker killed with SIGKILL in the middle of recalculating 20,000
leads leaves nothing half-done; rerunning gives every lead the uninterrupted run's scores."""

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict

import pytest
from django.conf import settings
from django.db import connection

from leads.background.recalculation import EVENT_COLUMNS, EventRow
from leads.engine import scoring
from leads.engine.state import settle
from leads.ingest.assets import AssetCatalog
from leads.models import Event, Lead, ProductScore, StageChange
from leads.services import engine_input, spec_for
from models_review.models import RecalculationRun
from models_review.recalculation import recalculation_execute
from models_review.services import version_import
from tests.conftest import SPEC_MODEL
from tests.leads.bulk_data import random_leads, score_all
from tests.models_review.test_recalculation import V2

LEADS = 20_000


def uninterrupted_result(version, as_of):
    """Each lead replayed by the engine and settled at the run's instant, as one clean run writes it."""
    spec, catalog, events = spec_for(version), AssetCatalog.load(), defaultdict(list)
    for row in Event.objects.order_by("lead_id", "occurred_at", "id").values_list(*EVENT_COLUMNS):
        events[row[0]].append(engine_input(EventRow(*row[1:]), catalog))
    expected = {}
    for pk in Lead.objects.values_list("pk", flat=True):
        state, _ = scoring.replay(events[pk], spec)
        settle(state, max(as_of, state.sales.scored_at or as_of), spec)
        expected[pk] = state
    return expected


def wait_until(condition, timeout=300):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_recalculation_then_rerun_equals_the_uninterrupted_run(rq_redis, settings):
    # The one-job path (its resume point); chunk jobs have their own kill test.
    settings.CHUNK_JOBS = "never"
    v1 = version_import(data=SPEC_MODEL, publish=True)
    random_leads(LEADS, seed=21, max_events=4)
    score_all(v1, chunk=5000)
    stages_before = dict(Lead.objects.values_list("pk", "stage"))
    v2 = version_import(data=V2, publish=True)  # commits, so the job is on the recalc queue now
    run = RecalculationRun.objects.get(version=v2)

    env = {
        **os.environ,
        "LEADSCORE_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "PYTHONPATH": str(settings.BASE_DIR),
        "CHUNK_JOBS": "never",
    }
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.models_review.worker_process", "recalc"], cwd=settings.BASE_DIR, env=env
    )
    try:
        midway = wait_until(lambda: RecalculationRun.objects.get(pk=run.pk).done >= 3000)
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        worker.wait(timeout=30)
    assert midway, "the worker never got going"
    run.refresh_from_db()
    assert run.status == "running" and 3000 <= run.done < LEADS  # killed in the middle, not after
    assert run.done == Lead.objects.filter(pk__lte=run.last_lead_id).count()

    run = recalculation_execute(run_id=run.pk)  # the rerun (what the next worker does)
    assert (run.status, run.done) == ("done", LEADS)

    expected = uninterrupted_result(v2, run.as_of)
    lines = dict(ProductScore.objects.values_list("product_line_id", "product_line__name").distinct())
    for pk, score, _scored_at, stage, engaged in Lead.objects.values_list(
        "pk", "score", "scored_at", "stage", "last_engaged_at"
    ):
        state = expected[pk]
        assert (score, stage, engaged) == (state.sales.score, state.stage, state.sales.last_engaged_at), pk
    products = defaultdict(dict)
    for lead_id, line_id, score in ProductScore.objects.values_list("lead_id", "product_line_id", "score"):
        products[lead_id][lines[line_id]] = score
    assert products == {
        pk: {name: s.score for name, s in state.products.items()}
        for pk, state in expected.items()
        if state.products
    }
    moved = {pk for pk, state in expected.items() if state.stage != stages_before[pk]}
    logged = list(
        StageChange.objects.filter(reason="recalculation", version=v2).values_list("lead_id", flat=True)
    )
    assert sorted(logged) == sorted(moved)  # one change per moved lead: none lost, none doubled
