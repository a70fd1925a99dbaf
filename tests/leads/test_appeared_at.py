"""`Lead.appeared_at`: the earlier of a lead's creation and its first event, kept by every
write path so the dashboard can count appearances per day from an index."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps as django_apps
from django.utils import timezone

from leads.ingest import events
from leads.ingest.events import NewEvent
from leads.models import Event, Lead
from tests.conftest import day
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def ingest(lead, at, type="form_submit"):
    return events.event_ingest(event=NewEvent(type=type, occurred_at=at, lead_id=lead.pk))


def appeared(lead):
    return Lead.objects.values_list("appeared_at", flat=True).get(pk=lead.pk)


def test_appeared_at_is_the_creation_instant_for_a_new_lead(spec_model):
    lead = LeadFactory()
    assert lead.appeared_at is not None and appeared(lead) == lead.created_at


def test_appeared_at_is_set_by_bulk_create_too(spec_model):
    (lead,) = Lead.objects.bulk_create([Lead(email="bulk@example.com")])
    assert appeared(lead) == Lead.objects.get(pk=lead.pk).created_at


def test_an_event_older_than_the_lead_moves_appeared_at_back_to_it(spec_model):
    lead = LeadFactory()  # created now; day(0) is in the past
    ingest(lead, day(3))
    assert appeared(lead) == day(3)
    ingest(lead, day(0))  # an imported, older event
    assert appeared(lead) == day(0)
    ingest(lead, day(5))  # a later one changes nothing
    assert appeared(lead) == day(0)


def test_an_event_after_creation_leaves_appeared_at_at_creation(spec_model):
    lead = LeadFactory()
    ingest(lead, timezone.now() + timedelta(minutes=5))
    assert appeared(lead) == lead.created_at


def test_an_event_saved_on_its_own_moves_appeared_at_back(spec_model):
    lead = LeadFactory()
    Event.objects.create(lead=lead, type="page_view", occurred_at=day(2))
    assert appeared(lead) == day(2)


def test_a_joined_anonymous_history_moves_appeared_at_back_to_its_first_event(spec_model):
    events.event_ingest(event=NewEvent(type="form_submit", occurred_at=day(1), anonymous_id="anon-9"))
    events.event_ingest(event=NewEvent(type="page_view", occurred_at=day(4), anonymous_id="anon-9"))
    lead = LeadFactory()
    assert events.identity_link(anonymous_id="anon-9", lead=lead) == 2
    assert appeared(lead) == day(1)


def test_backfill_sets_the_earlier_of_creation_and_first_event(spec_model):
    with_history, without = LeadFactory(), LeadFactory()
    ingest(with_history, day(7))
    ingest(with_history, day(2))
    Lead.objects.update(appeared_at=None)  # as the column is right after it is added
    migration = importlib.import_module("leads.migrations.0014_lead_appeared_at_and_text_search")
    migration.appeared_at_backfill(django_apps, None)
    assert appeared(with_history) == day(2)
    assert appeared(without) == without.created_at
