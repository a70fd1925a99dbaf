"""The streamed recalculation of PostgreSQL (leads/recompute.py): one sorted stream of all
events read in a snapshot while chunks are written. It must write what replaying lead by
lead writes, and a lead that gets an event after the snapshot must be replayed again."""
from datetime import timedelta

import pytest
from django.db import connection

from leads import recompute
from leads.models import Lead
from leads.services import NewEvent, event_ingest
from models_review.recalculation import recalculation_execute
from tests.models_review.test_recalculation import full_table, published_v2_with_leads, reference_by_lead_replay

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the stream reads on a connection of its own: data must be committed
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
    write = recompute._write_streamed

    def event_arrives_mid_run(version, chunk, after_id, *args):
        if after_id < target <= chunk.last_lead_id and not arrived:
            # Committed after the stream took its snapshot, before this chunk locks its leads.
            last = Lead.objects.get(pk=target).scored_at
            arrived.append(event_ingest(event=NewEvent(type="form_submit", lead_id=target, asset_key="contact",
                                                       occurred_at=last + timedelta(minutes=1))))
        return write(version, chunk, after_id, *args)

    monkeypatch.setattr(recompute, "_write_streamed", event_arrives_mid_run)
    run = recalculation_execute(run_id=run.pk, chunk_size=100)
    assert arrived and arrived[0] is not None
    streamed = full_table()
    reference_by_lead_replay(run)
    assert full_table() == streamed  # the new form submit counted in the target's score
