"""Recalculation as chunk jobs (§9): any number of workers take the id ranges side by side,
in any order, and the result is the single-process one."""

import os
import random
import signal
import subprocess
import sys
from collections import defaultdict

import pytest
from django.conf import settings
from django.db import connection

from leads.models import Lead, ProductScore, StageChange
from models_review.models import RecalculationChunk, RecalculationRun
from models_review.recalculation import (
    recalculation_chunk_execute,
    recalculation_execute,
    recalculations_resume_stale,
)
from scoring_site.queueing import outbox_sweep, queue
from tests.models_review.test_recalculation import (
    full_table,
    published_v2_with_leads,
    reference_by_lead_replay,
)
from tests.models_review.test_recalculation_kill import uninterrupted_result, wait_until


@pytest.fixture
def chunk_jobs(settings):
    settings.CHUNK_JOBS = "always"


def planned(run, chunk_size):
    run = recalculation_execute(run_id=run.pk, chunk_size=chunk_size)
    return run, list(run.chunks.order_by("number"))


@pytest.mark.django_db
def test_recalculation_chunks_split_the_leads_into_id_ranges(chunk_jobs):
    _, run = published_v2_with_leads(400)
    run, chunks = planned(run, chunk_size=64)
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    # 400 leads in ranges of 64: six full ranges and an open-ended seventh (16 leads and any newcomer).
    assert [(c.after_id, c.last_id) for c in chunks] == [
        (0, ids[63]),
        (ids[63], ids[127]),
        (ids[127], ids[191]),
        (ids[191], ids[255]),
        (ids[255], ids[319]),
        (ids[319], ids[383]),
        (ids[383], None),
    ]
    assert (run.status, run.done, run.total) == ("running", 0, 400)


@pytest.mark.django_db
def test_recalculation_chunks_in_any_order_equal_the_one_job_result(chunk_jobs):
    v2, run = published_v2_with_leads(400)
    stages_before = dict(Lead.objects.values_list("pk", "stage"))
    run, chunks = planned(run, chunk_size=64)
    order = [c.number for c in chunks]
    random.Random(7).shuffle(order)
    for number in order:
        recalculation_chunk_execute(run_id=run.pk, number=number)
    run.refresh_from_db()
    assert (run.status, run.done, run.total) == ("done", 400, 400)
    recalculated = full_table()
    moved = {pk for pk, stage in Lead.objects.values_list("pk", "stage") if stage != stages_before[pk]}
    logged = StageChange.objects.filter(reason="recalculation", version=v2, at=run.as_of)
    assert set(logged.values_list("lead_id", flat=True)) == moved and logged.count() == len(moved)
    reference_by_lead_replay(run)
    assert full_table() == recalculated  # the one-lead replay finds nothing left to change


@pytest.mark.django_db
def test_recalculation_chunks_resume_point_never_passes_an_unfinished_chunk(chunk_jobs):
    _, run = published_v2_with_leads(200)
    run, chunks = planned(run, chunk_size=50)  # four full ranges and an empty open end
    resume_points = []
    for number in (2, 3, 0, 4, 1):
        recalculation_chunk_execute(run_id=run.pk, number=number)
        run.refresh_from_db()
        resume_points.append((run.last_lead_id, run.done))
    assert resume_points == [
        (0, 50),  # chunks 2 and 3 are done, but chunk 0 is not: the resume point stays
        (0, 100),
        (chunks[1].after_id, 150),  # chunk 0 done: up to where chunk 1 starts
        (chunks[1].after_id, 150),  # the open end holds no lead
        (Lead.objects.order_by("-pk").first().pk, 200),
    ]
    assert run.status == "done"


@pytest.mark.django_db
def test_recalculation_chunk_job_run_twice_counts_its_leads_once(chunk_jobs):
    _, run = published_v2_with_leads(120)
    run, _ = planned(run, chunk_size=50)
    assert recalculation_chunk_execute(run_id=run.pk, number=0) == "chunk 0: 50 leads"
    assert recalculation_chunk_execute(run_id=run.pk, number=0) == "nothing to do"
    run.refresh_from_db()
    assert run.done == 50


@pytest.mark.django_db
def test_recalculation_run_split_once_stays_split_when_resumed(settings):
    settings.CHUNK_JOBS = "always"
    _, run = published_v2_with_leads(120)
    run, chunks = planned(run, chunk_size=50)
    settings.CHUNK_JOBS = "never"  # e.g. workers went down to one
    recalculation_execute(run_id=run.pk)  # the watchdog's resume of the run
    assert list(run.chunks.order_by("number")) == chunks  # not planned again, not replayed as one job
    assert RecalculationRun.objects.get(pk=run.pk).done == 0


@pytest.mark.django_db(transaction=True)
def test_recalculation_watchdog_queues_the_chunks_a_dead_worker_left(chunk_jobs, rq_redis):
    _, run = published_v2_with_leads(120)
    outbox_sweep()
    queue("recalc").empty()
    run, _ = planned(run, chunk_size=50)  # three chunk jobs queued
    recalculation_chunk_execute(run_id=run.pk, number=0)
    queue("recalc").empty()  # the worker holding chunks 1 and 2 died with their jobs
    later = RecalculationRun.objects.get(pk=run.pk).updated_at + recalculation_stale_after()
    assert recalculations_resume_stale(now=later) == 1
    jobs = [queue("recalc").fetch_job(job_id) for job_id in queue("recalc").job_ids]
    assert sorted(job.kwargs["number"] for job in jobs) == [1, 2]


def recalculation_stale_after():
    from models_review.recalculation import STALE_AFTER

    return STALE_AFTER * 2


def start_worker(env, queue_name="recalc"):
    return subprocess.Popen(
        [sys.executable, "-m", "tests.models_review.worker_process", queue_name],
        cwd=settings.BASE_DIR,
        env=env,
    )


def worker_env():
    return {
        **os.environ,
        "LEADSCORE_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        "PYTHONPATH": str(settings.BASE_DIR),
        "CHUNK_JOBS": "always",
    }


def assert_equals_the_uninterrupted_run(run):
    expected = uninterrupted_result(run.version, run.as_of)
    for pk, score, stage, engaged in Lead.objects.values_list("pk", "score", "stage", "last_engaged_at"):
        state = expected[pk]
        assert (score, stage, engaged) == (state.sales.score, state.stage, state.sales.last_engaged_at), pk
    products = defaultdict(dict)
    for lead_id, line, score in ProductScore.objects.values_list("lead_id", "product_line__name", "score"):
        products[lead_id][line] = score
    assert products == {
        pk: {name: s.score for name, s in state.products.items()}
        for pk, state in expected.items()
        if state.products
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_recalculation_two_worker_processes_equal_the_single_process_result(rq_redis):
    _, run = published_v2_with_leads(6000, seed=31)
    workers = [start_worker(worker_env()) for _ in range(2)]
    try:
        finished = wait_until(lambda: RecalculationRun.objects.get(pk=run.pk).status == "done", timeout=300)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
    run.refresh_from_db()
    assert finished and (run.done, run.total) == (6000, 6000)
    assert run.chunks.count() == 7  # 6,000 leads in the worker's chunks of 1,000, and the open end
    assert_equals_the_uninterrupted_run(run)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_recalculation_worker_killed_mid_chunk_the_run_still_ends_with_the_same_result(rq_redis, tmp_path):
    _, run = published_v2_with_leads(6000, seed=32)
    paused = tmp_path / "paused"
    first = start_worker({**worker_env(), "LEADSCORE_TEST_PAUSE_FILE": str(paused)})
    assert wait_until(lambda: RecalculationChunk.objects.filter(run=run).exists())
    second = start_worker(worker_env())
    workers = [first, second]
    try:
        assert wait_until(paused.exists)
        os.kill(first.pid, signal.SIGKILL)  # inside a chunk's transaction, its writes not committed
        first.wait(timeout=30)
        second.wait(timeout=300)  # a burst worker: it drains what is queued, then stops
        # What the dead worker held is still pending; the watchdog queues it for the next worker.
        assert RecalculationChunk.objects.filter(run=run, status="pending").exists()
        later = RecalculationRun.objects.get(pk=run.pk).updated_at + recalculation_stale_after()
        assert recalculations_resume_stale(now=later) == 1
        workers.append(start_worker(worker_env()))
        assert wait_until(lambda: RecalculationRun.objects.get(pk=run.pk).status == "done", timeout=300)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=30)
    run.refresh_from_db()
    assert (run.done, run.total) == (6000, 6000)
    assert_equals_the_uninterrupted_run(run)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: PostgreSQL's SKIP LOCKED")
def test_recalculation_chunk_is_taken_while_another_worker_holds_the_run_and_version(chunk_jobs):
    """A worker replaying its chunk holds rows the chunk row joins to; a second worker must
    still take the next chunk, not skip it as if it were held (both would then stop)."""
    import threading

    from django.db import connections, transaction

    from models_review.models import ModelVersion

    version, run = published_v2_with_leads(120)
    run, _ = planned(run, chunk_size=50)
    holding, release = threading.Event(), threading.Event()

    def other_worker():
        # FOR NO KEY UPDATE: what a worker's own chunk lock put on the joined version row,
        # without blocking this test's lead writes (their foreign key takes KEY SHARE).
        with transaction.atomic():
            ModelVersion.objects.select_for_update(no_key=True).get(pk=version.pk)
            holding.set()
            release.wait(timeout=30)
        connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert holding.wait(timeout=30)
        assert recalculation_chunk_execute(run_id=run.pk, number=0) == "chunk 0: 50 leads"
    finally:
        release.set()
        thread.join(timeout=30)
