"""Preview in chunks (§9): the compiled replay for the draft, the stored state for the active
version, and chunk jobs in any order all give the one-job, replay-everything result."""

import random

import pytest

from leads.models import Lead
from models_review import preview, services
from models_review.models import PreviewChunk, PreviewRun, SalesFeedback
from models_review.preview import compute, preview_chunk_execute
from tests.conftest import day
from tests.factories import RepFactory
from tests.leads.bulk_data import random_leads, score_all
from tests.models_review.test_recalculation_chunks import start_worker, worker_env
from tests.models_review.test_recalculation_kill import wait_until


def draft_of(active):
    draft = services.draft_copy(source=active)
    form_rule = draft.rules.get(event_type="form_submit")
    services.draft_rule_save(
        version=draft, rule={"event_type": "form_submit", "points": 40}, rule_id=form_rule.pk
    )
    return draft


def with_history(spec_model, leads=300, seed=3):
    random_leads(leads, seed=seed)
    score_all(spec_model)
    return draft_of(spec_model)


def preview_result(draft, as_of, monkeypatch=None, chunk_size=None):
    if chunk_size:
        monkeypatch.setattr(preview, "CHUNK_SIZE", chunk_size)
    run = services.preview_request(draft=draft)
    PreviewRun.objects.filter(pk=run.pk).update(as_of=as_of)
    compute(run_id=run.pk)
    run.refresh_from_db()
    return run


@pytest.fixture
def as_of():
    return day(205)  # just after the random histories end (~200 days): many leads still hot


@pytest.mark.django_db
def test_preview_from_stored_state_equals_replaying_the_active_version_too(spec_model, as_of, monkeypatch):
    draft = with_history(spec_model)
    stored = preview_result(draft, as_of)
    assert stored.status == "done" and stored.done == 300
    assert stored.result["gain_count"] > 0  # the draft's forms at 40 move leads over T
    monkeypatch.setattr(preview._StoredActive, "covers", lambda self, lead: False)  # replay everything
    replayed = preview_result(draft, as_of)
    assert replayed.result == stored.result


@pytest.mark.django_db
def test_preview_chunk_jobs_in_any_order_equal_the_one_job_result(spec_model, as_of, monkeypatch, settings):
    draft = with_history(spec_model)
    one_job = preview_result(draft, as_of)
    settings.CHUNK_JOBS = "always"
    run = preview_result(draft, as_of, monkeypatch, chunk_size=64)
    chunks = list(run.chunks.values_list("number", flat=True))
    assert len(chunks) == 5 and run.status == "running"  # 300 leads: four ranges of 64 and the rest
    random.Random(5).shuffle(chunks)
    for number in chunks:
        preview_chunk_execute(run_id=run.pk, number=number)
    assert preview_chunk_execute(run_id=run.pk, number=chunks[0]) == "nothing to do"
    run.refresh_from_db()
    assert (run.status, run.done, run.total) == ("done", 300, 300)
    assert run.result == one_job.result


@pytest.mark.django_db
def test_preview_counts_agreement_with_the_latest_feedback_per_lead(spec_model, as_of, rep):
    draft = with_history(spec_model, leads=40)
    leads = list(Lead.objects.order_by("pk")[:3])
    for lead, really in zip(leads, (True, False, True)):
        SalesFeedback.objects.create(lead=lead, rep=rep, really_sales_ready=really, outcome="")
    # A second rep's answer on the third lead, given later, is the one that counts.
    later_rep = RepFactory(username="rep2")
    SalesFeedback.objects.create(lead=leads[2], rep=later_rep, really_sales_ready=False, outcome="lost")
    agreement = preview_result(draft, as_of).result["agreement"]["active"]
    assert (agreement["judged_yes"], agreement["judged_no"], agreement["lost"]) == (1, 2, 1)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_preview_two_worker_processes_equal_the_single_process_result(spec_model, rq_redis, settings):
    draft = with_history(spec_model, leads=3000, seed=11)
    as_of = day(205)
    settings.CHUNK_JOBS = "never"
    one_job = preview_result(draft, as_of)
    settings.CHUNK_JOBS = "always"
    run = services.preview_request(draft=draft)  # queued on commit
    PreviewRun.objects.filter(pk=run.pk).update(as_of=as_of)
    workers = [start_worker(worker_env(), queue_name="default") for _ in range(2)]
    try:
        assert wait_until(lambda: PreviewRun.objects.get(pk=run.pk).status == "done", timeout=300)
    finally:
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
    run.refresh_from_db()
    assert run.chunks.count() == 4 and not run.chunks.exclude(status=PreviewChunk.Status.DONE).exists()
    assert run.result == one_job.result
