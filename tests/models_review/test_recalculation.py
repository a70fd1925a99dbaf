import copy
from datetime import UTC

import pytest
from django.urls import reverse

from leads.models import Lead, ProductScore, StageChange
from leads.services import lead_replay
from models_review import recalculation
from models_review.models import RecalculationRun
from models_review.recalculation import recalculation_execute
from models_review.services import version_import
from scoring_site.queueing import outbox_sweep
from tests.conftest import SPEC_MODEL
from tests.leads.bulk_data import random_leads, score_all
from tests.redis_fixtures import run_worker

# A stricter model: forms and trials are worth more, T is lower, careers cost more.
V2 = copy.deepcopy(SPEC_MODEL)
V2.update(note="Forms matter more", sales_ready_score=80)
V2["rules"][1]["points"] = -20
V2["rules"][4]["points"] = 40


def full_table():
    leads = list(
        Lead.objects.order_by("pk").values_list(
            "pk",
            "score",
            "scored_at",
            "last_engaged_at",
            "stage",
            "stage_changed_at",
            "engine_state",
            "scored_with",
            "is_cold",
        )
    )
    products = list(
        ProductScore.objects.order_by("lead_id", "product_line_id").values_list(
            "lead_id", "product_line_id", "score", "scored_at", "last_engaged_at"
        )
    )
    changes = list(
        StageChange.objects.order_by("lead_id", "at", "id").values_list(
            "lead_id", "from_stage", "to_stage", "at", "reason", "version"
        )
    )
    return leads, products, changes


def published_v2_with_leads(count, seed=5):
    v1 = version_import(data=SPEC_MODEL, publish=True)
    random_leads(count, seed=seed)
    score_all(v1)
    v2 = version_import(data=V2, publish=True)  # queues a run (in the outbox until this test's commit)
    return v2, RecalculationRun.objects.get(version=v2)


def reference_by_lead_replay(run):
    """What the one-lead-at-a-time service writes for every lead at the run's instant."""
    for lead in Lead.objects.order_by("pk"):
        lead_replay(lead=lead, version=run.version, now=run.as_of)


@pytest.mark.django_db
def test_recalculation_equals_lead_replay_for_every_lead():
    v2, run = published_v2_with_leads(400)
    stages_before = dict(Lead.objects.values_list("pk", "stage"))
    run = recalculation_execute(run_id=run.pk, chunk_size=64)
    assert (run.status, run.done, run.total) == ("done", 400, 400)
    recalculated = full_table()
    moved = {pk for pk, stage in Lead.objects.values_list("pk", "stage") if stage != stages_before[pk]}
    logged = StageChange.objects.filter(reason="recalculation", version=v2, at=run.as_of)
    assert set(logged.values_list("lead_id", flat=True)) == moved and logged.count() == len(moved)
    assert len(moved) > 20  # T dropped from 100 to 80: many leads change stage

    reference_by_lead_replay(run)
    assert full_table() == recalculated  # lead_replay finds nothing to change: identical results


@pytest.mark.django_db
def test_recalculation_resumes_after_a_crash_and_equals_an_uninterrupted_run(monkeypatch):
    v2, run = published_v2_with_leads(300, seed=9)
    real_mark, calls = recalculation._mark_progress, []

    def crash_on_third_chunk(run, chunk):
        calls.append(chunk)
        if len(calls) == 3:
            raise RuntimeError("worker lost")
        real_mark(run, chunk)

    monkeypatch.setattr(recalculation, "_mark_progress", crash_on_third_chunk)
    with pytest.raises(RuntimeError):
        recalculation_execute(run_id=run.pk, chunk_size=50)
    run.refresh_from_db()
    assert (run.status, run.done) == ("failed", 100)  # the third chunk rolled back with its mark
    monkeypatch.setattr(recalculation, "_mark_progress", real_mark)
    run = recalculation_execute(run_id=run.pk, chunk_size=50)
    assert (run.status, run.done) == ("done", 300)
    resumed = full_table()
    recalculation_execute(run_id=run.pk)  # a finished run is a no-op
    assert full_table() == resumed

    # An uninterrupted run over the same leads, from the same starting point, writes the same.
    again = RecalculationRun.objects.create(version=v2, total=300)
    RecalculationRun.objects.filter(pk=again.pk).update(as_of=run.as_of)
    recalculation_execute(run_id=again.pk, chunk_size=300)
    assert full_table()[:2] == resumed[:2]
    assert full_table()[2] == resumed[2]  # stages already match: no second stage change logged


@pytest.mark.django_db
def test_an_older_run_stops_when_a_newer_version_is_active():
    v2, run = published_v2_with_leads(5)
    version_import(data={**V2, "note": "v3"}, publish=True)
    run = recalculation_execute(run_id=run.pk)
    assert run.status == "failed" and "newer version" in run.error and run.done == 0


@pytest.mark.django_db
def test_progress_page_shows_bar_people_and_polls_until_done(client, marketer):
    v2, run = published_v2_with_leads(30)
    RecalculationRun.objects.filter(pk=run.pk).update(requested_by=marketer)
    client.force_login(marketer)
    url = reverse("models_review:recalculation", args=[run.pk])
    page = client.get(url).content.decode()
    assert 'id="recalc-progress"' in page and 'data-percent="0"' in page
    assert "Default v2" in page and "marketer" in page and 'hx-trigger="every 1s"' in page
    assert "0 of 30 leads" in page
    recalculation_execute(run_id=run.pk, chunk_size=10)
    fragment = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in fragment and 'data-percent="100"' in fragment
    assert "hx-trigger" not in fragment  # done: the page stops polling
    assert "30 of 30 leads" in fragment and "Done: 30 leads recalculated" in fragment


@pytest.mark.django_db
def test_progress_page_is_for_marketers(client, rep):
    v2, run = published_v2_with_leads(1)
    client.force_login(rep)
    assert client.get(reverse("models_review:recalculation", args=[run.pk])).status_code == 403


@pytest.mark.django_db(transaction=True)
def test_publish_with_redis_down_queues_in_the_outbox_and_a_worker_finishes_later(
    client, marketer, rq_redis, redis_down, settings
):
    from tests.redis_fixtures import QUEUE_NAMES

    v1 = version_import(data=SPEC_MODEL, publish=True)
    random_leads(50, seed=2)
    score_all(v1)
    v2 = version_import(data=V2, publish=True, by=marketer)  # Redis is down: no exception
    run = RecalculationRun.objects.get(version=v2)
    assert run.requested_by == marketer and run.status == "queued"
    client.force_login(marketer)
    page = client.get(reverse("models_review:recalculation", args=[run.pk])).content.decode()
    assert "queued and will start when the background workers are back" in page

    settings.RQ_QUEUES = {name: {"URL": settings.REDIS_URL, "DEFAULT_TIMEOUT": 600} for name in QUEUE_NAMES}
    assert outbox_sweep() == 1
    run_worker(rq_redis, "recalc")
    run.refresh_from_db()
    assert (run.status, run.done) == ("done", 50)
    assert set(Lead.objects.values_list("scored_with", flat=True)) == {v2.pk}


@pytest.mark.django_db
def test_watchdog_requeues_a_run_whose_worker_died_and_only_that_one(
    django_capture_on_commit_callbacks, redis_down
):
    from datetime import timedelta

    from django.utils import timezone

    from leads.models import OutboxJob
    from models_review.recalculation import recalculations_resume_stale

    v2, run = published_v2_with_leads(3)
    RecalculationRun.objects.filter(pk=run.pk).update(status="running")
    now = timezone.now()
    assert recalculations_resume_stale(now=now) == 0  # it moved recently
    OutboxJob.objects.all().delete()
    assert recalculations_resume_stale(now=now + timedelta(minutes=11)) == 1
    row = OutboxJob.objects.get()
    assert (row.func_path, row.kwargs, row.queue_name) == (
        "models_review.jobs.recalculation_run",
        {"run_id": run.pk},
        "recalc",
    )


@pytest.mark.django_db
def test_a_second_worker_on_the_same_run_never_counts_a_chunk_twice(monkeypatch):
    v2, run = published_v2_with_leads(120)
    real_mark = recalculation._mark_progress

    def other_worker_got_there_first(run_, chunk):
        if not calls:
            calls.append(1)
            RecalculationRun.objects.filter(pk=run_.pk).update(
                last_lead_id=chunk.last_lead_id, done=chunk.leads
            )
        real_mark(run_, chunk)

    calls = []
    monkeypatch.setattr(recalculation, "_mark_progress", other_worker_got_there_first)
    recalculation_execute(run_id=run.pk, chunk_size=40)
    run.refresh_from_db()
    # This worker stepped aside: its chunk rolled back (the simulated rival's write with it,
    # being in the same test transaction), nothing was counted and no lead was rewritten.
    assert (run.done, run.last_lead_id, run.status) == (0, 0, "running")
    assert not Lead.objects.filter(scored_with=v2).exists()
    monkeypatch.setattr(recalculation, "_mark_progress", real_mark)
    run = recalculation_execute(run_id=run.pk, chunk_size=40)
    assert (run.status, run.done) == ("done", 120)


@pytest.mark.django_db
def test_a_content_mode_version_recalculates_through_the_engine():
    """Content-mode stages depend on each event's target stage, so these leads take the
    engine's path rather than the compiled replay; the result is lead_replay's."""
    v1 = version_import(data=SPEC_MODEL, publish=True)
    random_leads(120, seed=31)
    score_all(v1)
    content = version_import(data={**V2, "note": "stages by content", "stage_mode": "content"}, publish=True)
    run = recalculation_execute(run_id=RecalculationRun.objects.get(version=content).pk, chunk_size=50)
    assert (run.status, run.done) == ("done", 120)
    recalculated = full_table()
    reference_by_lead_replay(run)
    assert full_table() == recalculated


def test_recalculation_run_took_reads_in_seconds_not_zero_minutes():
    from datetime import datetime, timedelta

    start = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)
    run = RecalculationRun(started_at=start)
    assert run.took == ""  # not finished
    assert RecalculationRun(started_at=start, finished_at=start + timedelta(seconds=4.4)).took == "4 s"
    assert RecalculationRun(started_at=start, finished_at=start + timedelta(seconds=125)).took == "2 min 5 s"
