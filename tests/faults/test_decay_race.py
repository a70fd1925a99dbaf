"""An event for a lead arriving while the decay job is writing that
lead ends with the same scores as running the two one after the other, in both orders.

Two leads share one history: lead A sees decay and the event one after the other, lead B
sees them at once, forced with a pause inside the first writer's transaction (its row lock,
or SQLite's write lock, held). Both must end equal to each other and to the engine's replay."""

import threading
import time

import pytest
from django.db import connection

from leads import services
from leads.background import decay
from leads.engine import scoring
from leads.ingest import events
from leads.ingest.events import NewEvent, events_ingest
from leads.models import Lead, ProductScore
from tests.conftest import day
from tests.factories import LeadFactory
from tests.leads.test_decay import engine_truth

pytestmark = pytest.mark.django_db(transaction=True)

DECAY_AT = day(60)
LATE_EVENT_AT = day(59)  # after decay's last tick (day 58), before the decay run's instant


def with_history():
    lead = LeadFactory()
    events_ingest(
        events=[
            NewEvent(type=kind, occurred_at=day(0), lead_id=lead.pk, name=name)
            for kind, name in (("form_submit", ""), ("video_play", ""), ("custom", "Trial Started"))
        ],
        now=day(0),
    )
    return lead


def late_event(lead):
    events_ingest(
        events=[NewEvent(type="form_submit", occurred_at=LATE_EVENT_AT, lead_id=lead.pk)], now=DECAY_AT
    )


def run_decay():
    decay.decay_materialise(now=DECAY_AT)


class PausedWriter:
    """Wraps `module.name` so its first call waits inside the caller's transaction until released."""

    def __init__(self, monkeypatch, module, name):
        self.entered, self.release, self.original = (
            threading.Event(),
            threading.Event(),
            getattr(module, name),
        )
        self.calls = 0
        monkeypatch.setattr(module, name, self)

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == 1:
            self.entered.set()
            assert self.release.wait(30), "never released"
        return self.original(*args, **kwargs)


def in_thread(work, finished_at: dict, errors: list) -> threading.Thread:
    def run():
        try:
            work()
            finished_at[work] = time.monotonic()
        except Exception as error:  # reported by the test, so a failure names itself
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def race(first, second, paused: PausedWriter) -> float:
    """`first` pauses holding its locks; `second` starts meanwhile. Returns when `second`
    finished, relative to the release, so the caller can prove it had to wait."""
    finished_at, errors = {}, []
    one = in_thread(first, finished_at, errors)
    assert paused.entered.wait(30)
    two = in_thread(second, finished_at, errors)
    time.sleep(1.0)  # `second` is now blocked on the lead's lock
    released_at = time.monotonic()
    paused.release.set()
    one.join(60)
    two.join(60)
    assert errors == []
    return finished_at[second] - released_at


def scores(lead):
    row = Lead.objects.filter(pk=lead.pk).values_list("score", "scored_at", "stage", "last_engaged_at").get()
    products = sorted(
        ProductScore.objects.filter(lead=lead).values_list("product_line__name", "score", "scored_at")
    )
    return row, products


def assert_matches_engine(spec_model, *leads):
    truth = engine_truth(services.spec_for(spec_model), DECAY_AT)
    for lead in leads:
        score, _, stage, engaged = scores(lead)[0]
        assert scoring.is_close(score, truth[lead.pk].sales.score) and stage == truth[lead.pk].stage
        assert engaged == LATE_EVENT_AT


def test_event_arriving_while_decay_writes_the_lead(spec_model, monkeypatch):
    sequential, raced = with_history(), with_history()
    paused = PausedWriter(monkeypatch, decay, "_decay_chunk")
    waited = race(run_decay, lambda: late_event(raced), paused)
    late_event(sequential)  # decay (above, same run) then the event
    assert waited > 0, "the event did not wait for decay's lock"
    assert scores(raced) == scores(sequential)
    assert_matches_engine(spec_model, raced, sequential)


def test_decay_arriving_while_an_event_writes_the_lead(spec_model, monkeypatch):
    sequential, raced = with_history(), with_history()
    late_event(sequential)  # the event, then decay (below, same run)
    paused = PausedWriter(monkeypatch, events, "states_store")  # as ingest calls it
    waited = race(lambda: late_event(raced), run_decay, paused)
    assert waited > 0, "decay did not wait for the event's lock"
    assert scores(raced) == scores(sequential)
    assert_matches_engine(spec_model, raced, sequential)
