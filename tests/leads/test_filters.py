import pytest
from django.http import QueryDict

from leads.models import Segment, Tag
from leads.workspace.filters import FilterError, filtered_leads, parse_filters, segment_members
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "query, field",
    [
        ("sort=score;DROP", "sort"),
        ("colour=red", "colour"),
        ("score_min=ten", "score_min"),
        ("stage=7", "stage"),
        ("cold=maybe", "cold"),
        ("active_since=yesterday", "active_since"),
        ("account=1 OR 1=1", "account"),
        ("nps_group=fan", "nps_group"),
    ],
)
def test_bad_parameters_are_refused_naming_the_field(query, field):
    with pytest.raises(FilterError) as error:
        parse_filters(QueryDict(query))
    assert error.value.field == field


def test_filters_combine_and_sort_lowest_first():
    hot = Tag.objects.create(name="hot")
    a = LeadFactory(score=80, stage=3)
    b = LeadFactory(score=40, stage=2)
    LeadFactory(score=10, stage=1)
    a.tags.add(hot)
    b.tags.add(hot)
    leads = filtered_leads(parse_filters(QueryDict("score_min=30&tag=hot&sort=score")))
    assert list(leads) == [b, a]
    assert list(filtered_leads(parse_filters(QueryDict("stage=3&stage=1"))))[0] == a


def test_segment_members_use_the_saved_filter_and_order():
    cold = LeadFactory(score=60, is_cold=True)
    LeadFactory(score=60, is_cold=False)
    colder = LeadFactory(score=20, is_cold=True)
    segment = Segment.objects.create(name="Cold", filters={"cold": "1"}, order="score")
    assert list(segment_members(segment)) == [colder, cold]


def test_lowest_first_lists_tied_scores_newest_first_and_highest_first_oldest_first():
    low = LeadFactory(score=10)
    first, second, third = (LeadFactory(score=40) for _ in range(3))
    ascending = list(filtered_leads(parse_filters(QueryDict("sort=score"))))
    descending = list(filtered_leads(parse_filters(QueryDict("sort=-score"))))
    assert ascending == [low, third, second, first]
    assert descending == [first, second, third, low]


@pytest.mark.parametrize("inlined", [1000, 1])
def test_text_search_finds_email_name_and_account_name_once_each(inlined, monkeypatch):
    """Whether the matching accounts go in as ids or, past the limit, as a subquery."""
    from leads.workspace import filters
    from tests.factories import AccountFactory

    monkeypatch.setattr(filters, "ACCOUNT_IDS_INLINED", inlined)
    acme, acme_labs = AccountFactory(name="Acme"), AccountFactory(name="Acme Labs")
    by_email = LeadFactory(email="ana@acme.example", name="Ana", score=30)
    by_name = LeadFactory(email="b@x.example", name="Bo Acmeson", score=20)
    by_account = LeadFactory(email="c@x.example", name="Cy", account=acme_labs, score=10)
    both = LeadFactory(email="dee@acme.example", name="Dee", account=acme, score=5)
    LeadFactory(email="e@x.example", name="Eve")
    found = list(filtered_leads(parse_filters(QueryDict("q=ACME"))))
    assert found == [by_email, by_name, by_account, both]  # highest score first, each once
