"""Races real clients cause: retries of one message arriving together, and writers
contending for SQLite's single write lock."""

import threading

import pytest
from django.db import connection

from leads.ingest import events
from leads.ingest.events import NewEvent
from leads.models import Event, Lead
from tests.conftest import day
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(count, work):
    barrier, errors = threading.Barrier(count), []

    def worker(index):
        try:
            barrier.wait()
            work(index)
        except Exception as error:  # collected and asserted below, so a failure names itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return errors


def test_the_same_message_id_from_ten_threads_is_stored_and_scored_once(spec_model):
    lead = LeadFactory()

    def send(_):
        events.event_ingest(
            event=NewEvent(
                type="form_submit", occurred_at=day(0), lead_id=lead.pk, idempotency_key="retry-storm"
            )
        )

    assert run_together(10, send) == []
    assert Event.objects.filter(idempotency_key="retry-storm").count() == 1
    lead.refresh_from_db()
    assert lead.score == 25


def test_concurrent_batches_for_overlapping_leads_all_land(spec_model):
    leads = [LeadFactory() for _ in range(5)]

    def send(index):
        # Each thread touches every lead, in a different order, to provoke lock-order trouble.
        ordered = leads[index % 5 :] + leads[: index % 5]
        events.events_ingest(
            events=[
                NewEvent(
                    type="form_submit",
                    occurred_at=day(0),
                    lead_id=lead.pk,
                    idempotency_key=f"t{index}-{lead.pk}",
                )
                for lead in ordered
            ]
        )

    assert run_together(8, send) == []
    assert Event.objects.count() == 40
    assert sorted(Lead.objects.values_list("score", flat=True)) == [200.0] * 5


def test_a_long_writer_makes_ingest_wait_not_fail(spec_model):
    """On SQLite a worker's write transaction holds the only write lock; IMMEDIATE transactions
    and the busy timeout make the web's ingest wait instead of raising "database is locked"."""
    import time

    from django.db import transaction

    lead = LeadFactory()
    holding = threading.Event()

    def worker_holding_the_lock(index):
        if index == 0:
            with transaction.atomic():
                Lead.objects.filter(pk=lead.pk).update(title="being decayed")
                holding.set()
                time.sleep(2)
        else:
            holding.wait(10)
            events.event_ingest(event=NewEvent(type="form_submit", occurred_at=day(0), lead_id=lead.pk))

    assert run_together(2, worker_holding_the_lock) == []
    lead.refresh_from_db()
    assert (lead.title, lead.score) == ("being decayed", 25)
