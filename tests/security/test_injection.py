"""SQL injection through sort and filter parameters: every list page refuses a
hostile value with 400 naming the field (or, for free text, searches for it literally); no
500, no rows it should not show."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from leads.models import Lead

pytestmark = pytest.mark.django_db

INJECTIONS = (
    "\u00b2",
    "score; DROP TABLE leads_lead; --",
    "1' OR '1'='1",
    "1) UNION SELECT password FROM auth_user --",
    "-score,(SELECT 1)",
    "\x00",
    "9" * 400,
)

REFUSED = [  # (page, parameter), each must answer 400 and name the parameter
    ("leads:list", "sort"),
    ("leads:list", "stage"),
    ("leads:list", "score_min"),
    ("leads:list", "owner"),
    ("leads:list", "active_since"),
    ("leads:list", "cold"),
    ("leads:list", "nps_group"),
    ("leads:list", "id' OR 1=1 --"),  # an unknown parameter name is refused too
    ("leads:dashboard", "since"),
    ("leads:dashboard", "segment"),
    ("models_review:feedback", "version"),
    ("models_review:feedback", "rep"),
    ("models_review:feedback", "reason"),
]


@pytest.fixture
def leads(spec_model):
    return [Lead.objects.create(email=f"lead{n}@example.com", score=10 * n) for n in range(3)]


@pytest.mark.parametrize("page,parameter", REFUSED, ids=[f"{p}-{f}" for p, f in REFUSED])
@pytest.mark.parametrize("value", INJECTIONS, ids=range(len(INJECTIONS)))
def test_hostile_filter_values_are_refused_naming_the_field(client, marketer, leads, page, parameter, value):
    client.force_login(marketer)
    response = client.get(reverse(page), {parameter: value})
    assert response.status_code == 400
    assert escape(parameter) in response.content.decode()


@pytest.mark.parametrize("value", INJECTIONS, ids=range(len(INJECTIONS)))
def test_free_text_search_treats_sql_as_text(client, marketer, leads, value):
    client.force_login(marketer)
    response = client.get(reverse("leads:list"), {"q": value})
    assert response.status_code in (200, 400)
    assert Lead.objects.count() == 3


@pytest.mark.parametrize("value", INJECTIONS, ids=range(len(INJECTIONS)))
def test_other_list_pages_never_fail_on_hostile_parameters(client, marketer, leads, value):
    client.force_login(marketer)
    for page, parameter in (
        ("leads:segments", "page"),
        ("leads:accounts", "q"),
        ("leads:accounts", "page"),
        ("surveys:dashboard", "survey"),
        ("models_review:sheet", "version"),
        ("models_review:feedback", "page"),
        ("leads:list", "page"),
    ):
        status = client.get(reverse(page), {parameter: value}).status_code
        assert status in (200, 400, 404), (page, parameter, status)
