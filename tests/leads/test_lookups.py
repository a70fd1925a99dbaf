import pytest

from leads.models import Event, Lead
from tests.conftest import day
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_any_of_finds_the_rows_whose_value_is_in_the_list():
    ada, bob, _ = LeadFactory(user_id="ada"), LeadFactory(user_id="bob"), LeadFactory(user_id="cy")
    found = Lead.objects.filter(user_id__any_of=["ada", "bob", "nobody"]).values_list("pk", flat=True)
    assert sorted(found) == sorted([ada.pk, bob.pk])


def test_any_of_works_on_a_foreign_key_and_on_an_empty_list():
    ada, bob = LeadFactory(), LeadFactory()
    Event.objects.create(lead=ada, type="form_submit", occurred_at=day(0))
    Event.objects.create(lead=bob, type="form_submit", occurred_at=day(0))
    assert list(Event.objects.filter(lead_id__any_of=[ada.pk]).values_list("lead_id", flat=True)) == [ada.pk]
    assert list(Event.objects.filter(lead_id__any_of=[])) == []
