"""The streamed recalculation of PostgreSQL (leads/recalculation.py): one sorted stream of all
events read in a snapshot while chunks are written. It must write what replaying lead by
lead writes, and a lead that gets an event after the snapshot must be replayed again."""

import time
from datetime import timedelta

import pytest
from django.db import connection

from leads.background import recalculation
from leads.ingest.events import NewEvent, event_ingest
from leads.models import Lead, StageChange
from models_review.recalculation import recalculation_execute
from tests.models_review.test_recalculation import (
    full_table,
    published_v2_with_leads,
    reference_by_lead_replay,
)

pytestmark = [
    pytest.mark.django_db(
        transaction=True
    ),  # the stream reads on a connection of its own: data must be committed
    pytest.mark.skipif(connection.vendor != "postgresql", reason="the streamed path is PostgreSQL's"),
]


def test_streamed_recalculation_equals_lead_by_lead_replay():
    v2, run = published_v2_with_leads(600, seed=13)
    run = recalculation_execute(run_id=run.pk, chunk_size=100)
    assert (run.status, run.done) == ("done", 600)
    streamed = full_table()
    reference_by_lead_replay(run)
    assert full_table() == streamed


def test_a_lead_with_an_event_after_the_snapshot_is_replayed_again(monkeypatch):
    v2, run = published_v2_with_leads(300, seed=17)
    target = Lead.objects.order_by("pk").values_list("pk", flat=True)[150]
    arrived = []
    write = recalculation._write_streamed

    def event_arrives_mid_run(version, chunk, *args):
        if chunk.after_id < target <= chunk.last_lead_id and not arrived:
            # Committed after the stream took its snapshot, before this chunk locks its leads.
            last = Lead.objects.get(pk=target).scored_at
            arrived.append(
                event_ingest(
                    event=NewEvent(
                        type="form_submit",
                        lead_id=target,
                        asset_key="contact",
                        occurred_at=last + timedelta(minutes=1),
                    )
                )
            )
        return write(version, chunk, *args)

    monkeypatch.setattr(recalculation, "_write_streamed", event_arrives_mid_run)
    run = recalculation_execute(run_id=run.pk, chunk_size=100)
    assert arrived and arrived[0] is not None
    streamed = full_table()
    reference_by_lead_replay(run)
    assert full_table() == streamed  # the new form submit counted in the target's score


def test_a_chunk_never_commits_before_the_one_before_it(monkeypatch):
    """Writers work on chunks side by side, but the resume point must never pass a chunk
    that is not committed: when the first chunk is lost, the second one rolls back too."""
    v2, run = published_v2_with_leads(300, seed=19)
    write = recalculation._write_streamed

    def first_chunk_slow_then_lost(version, chunk, *args):
        if chunk.number == 0:
            time.sleep(1.0)  # meanwhile the other writer writes the second chunk and waits its turn
            raise RuntimeError("worker lost")
        return write(version, chunk, *args)

    monkeypatch.setattr(recalculation, "_write_streamed", first_chunk_slow_then_lost)
    with pytest.raises(RuntimeError, match="worker lost"):
        recalculation_execute(run_id=run.pk, chunk_size=100)
    run.refresh_from_db()
    assert (run.status, run.done, run.last_lead_id) == ("failed", 0, 0)
    assert not StageChange.objects.filter(reason="recalculation", version=v2).exists()
    assert not Lead.objects.filter(scored_with=v2).exists()

    monkeypatch.setattr(recalculation, "_write_streamed", write)
    run = recalculation_execute(run_id=run.pk, chunk_size=100)
    assert (run.status, run.done) == ("done", 300)
    resumed = full_table()
    reference_by_lead_replay(run)
    assert full_table() == resumed


def test_a_chunk_that_waits_too_long_for_its_turn_lets_go_and_writes_again(monkeypatch):
    """The written second chunk holds its leads' locks while it waits for the first; past
    TURN_PATIENCE it rolls back (an ingest waiting on one of those locks may be what holds
    the first chunk up) and writes again once its turn comes. The result is the same."""
    v2, run = published_v2_with_leads(300, seed=29)
    monkeypatch.setattr(recalculation, "TURN_PATIENCE", 0.2)
    write, attempts = recalculation._write_streamed, []

    def first_chunk_slow(version, chunk, *args):
        attempts.append(chunk.number)
        if chunk.number == 0:
            time.sleep(3.0)  # ample time for the other writer to write chunk 1 and give up waiting
        return write(version, chunk, *args)

    monkeypatch.setattr(recalculation, "_write_streamed", first_chunk_slow)
    run = recalculation_execute(run_id=run.pk, chunk_size=100)
    assert (run.status, run.done) == ("done", 300)
    assert attempts.count(1) >= 2  # the second chunk let go at least once
    streamed = full_table()
    reference_by_lead_replay(run)
    assert full_table() == streamed
