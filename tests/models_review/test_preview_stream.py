"""The one-job preview on PostgreSQL reads every event as one sorted sequential scan on a
connection of its own (models_review/preview.py, `_EventStream`). It must give exactly what
reading each chunk's events through the index gives."""

import pytest
from django.db import connection

from leads.models import Lead
from models_review import preview
from tests.conftest import day
from tests.models_review.test_preview_chunks import preview_result, with_history

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the stream sees only committed data
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the streamed preview is PostgreSQL's"),
]


@pytest.fixture
def handed_out(monkeypatch):
    """The id ranges the stream handed to chunks: proof the streamed path ran."""
    ranges, through = [], preview._EventStream.through

    def spy(self, after_id, last_id):
        ranges.append((after_id, last_id))
        return through(self, after_id, last_id)

    monkeypatch.setattr(preview._EventStream, "through", spy)
    return ranges


def test_streamed_preview_equals_reading_each_chunk(spec_model, monkeypatch, handed_out):
    draft = with_history(spec_model, leads=300, seed=23)
    streamed = preview_result(draft, day(205), monkeypatch, chunk_size=64)
    assert len(handed_out) == 5 and handed_out[-1][1] is None  # four ranges of 64, then the rest
    monkeypatch.setattr(preview, "_streamable", lambda run: False)
    read = preview_result(draft, day(205))
    assert streamed.status == read.status == "done"
    assert streamed.result["gain_count"] > 0
    assert streamed.result == read.result


def test_streamed_preview_replays_the_active_version_where_the_stored_state_cannot_serve(
    spec_model, monkeypatch, handed_out
):
    draft = with_history(spec_model, leads=200, seed=29)
    stored = preview_result(draft, day(205), monkeypatch, chunk_size=64)
    monkeypatch.setattr(preview._StoredActive, "covers", lambda self, lead: False)
    replayed = preview_result(draft, day(205), monkeypatch, chunk_size=64)
    assert handed_out and replayed.result == stored.result


def test_the_stream_passes_over_the_leads_of_a_chunk_it_does_not_tally(spec_model):
    with_history(spec_model, leads=30, seed=31)
    ids = list(Lead.objects.order_by("pk").values_list("pk", flat=True))
    with preview._EventStream(after_id=0) as stream:
        first = stream.through(0, ids[9])
        third = stream.through(ids[19], None)  # leads 11–20 were another worker's chunk
    with_events = set(Lead.objects.filter(events__isnull=False).values_list("pk", flat=True))
    assert set(first) == {pk for pk in ids[:10] if pk in with_events}
    assert set(third) == {pk for pk in ids[20:] if pk in with_events}
    some_lead = next(iter(third))
    assert len(third[some_lead]) == Lead.objects.get(pk=some_lead).events.count()


def test_two_stream_processes_split_the_chunks_and_give_the_one_process_result(
    spec_model, monkeypatch, handed_out
):
    draft = with_history(spec_model, leads=300, seed=37)
    one_process = preview_result(draft, day(205), monkeypatch, chunk_size=64)
    handed_out.clear()
    monkeypatch.setattr(preview, "CHUNKS_PER_PROCESS", 2)
    monkeypatch.setattr(preview, "STREAM_PROCESSES", 2)
    two_processes = preview_result(draft, day(205), monkeypatch, chunk_size=64)
    assert len(handed_out) == 3  # this process streamed chunks 0–2; a child of its own took 3–4
    assert two_processes.status == "done" and two_processes.chunks.filter(status="done").count() == 5
    assert two_processes.result == one_process.result


def test_chunks_split_into_contiguous_parts_one_per_process():
    assert preview._parts(list(range(5)), 2) == [[0, 1, 2, 3, 4]]  # too few for a second process
    assert preview._parts(list(range(17)), 2) == [list(range(9)), list(range(9, 17))]
    assert preview._parts(list(range(20)), 1) == [list(range(20))]


def test_chunk_jobs_take_a_part_each_and_stream_it(spec_model, monkeypatch, settings, handed_out):
    draft = with_history(spec_model, leads=300, seed=41)
    one_job = preview_result(draft, day(205), monkeypatch, chunk_size=16)
    settings.CHUNK_JOBS = "always"
    sent = []
    monkeypatch.setattr(preview, "enqueue_or_outbox", lambda queue, job, **kwargs: sent.append((job, kwargs)))
    run = preview_result(draft, day(205), monkeypatch, chunk_size=16)
    assert run.status == "running" and run.chunks.count() == 19
    parts = [(job, kwargs["first"], kwargs["last"], kwargs["job_timeout"]) for job, kwargs in sent]
    assert parts == [(preview.PART_JOB, 0, 9, 3600), (preview.PART_JOB, 10, 18, 3600)]  # one per worker
    handed_out.clear()
    assert preview.preview_part_execute(run_id=run.pk, first=10, last=18) == "chunks 10–18: 9 tallied"
    assert preview.preview_part_execute(run_id=run.pk, first=0, last=9) == "chunks 0–9: 10 tallied"
    assert preview.preview_part_execute(run_id=run.pk, first=0, last=9) == "nothing to do"  # delivered twice
    run.refresh_from_db()
    assert len(handed_out) == 19 and run.status == "done"
    assert run.result == one_job.result
