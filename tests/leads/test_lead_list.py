"""The lead list (§6): sortable headers, bulk actions, the product-interest threshold, the CSV
with product scores, and stage cards on Home and Dashboard that open the filtered list."""

import csv
import io

import pytest
from django.core.cache import cache
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.engine import scoring
from leads.models import Lead, ProductScore, Segment, Tag
from tests.factories import LeadFactory, ProductLineFactory, RepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    cache.clear()


def _names(response):
    return [lead.name for lead in response.context["leads"]]


def test_lead_list_sort_headers_toggle_and_keep_the_filters(client, marketer, spec_model):
    LeadFactory(name="Bea", score=70)
    LeadFactory(name="Abe", score=90)
    LeadFactory(name="Cid", score=10)
    client.force_login(marketer)
    page = client.get("/leads/?score_min=50").content.decode()
    # Default sort is highest score first: the Score header offers the reverse, the filter is kept.
    assert 'href="?score_min=50&sort=score"' in page and "Score ↓" in page
    assert 'href="?score_min=50&sort=name"' in page
    assert _names(client.get("/leads/?score_min=50&sort=score")) == ["Bea", "Abe"]
    assert _names(client.get("/leads/?sort=name")) == ["Abe", "Bea", "Cid"]
    ascending = client.get("/leads/?score_min=50&sort=score").content.decode()
    assert 'href="?score_min=50&sort=-score"' in ascending and "Score ↑" in ascending


def _bulk(client, leads, action, **extra):
    return client.post(
        "/leads/bulk/",
        {"lead": [lead.pk for lead in leads], "action": action, "back": "score_min=1", **extra},
    )


def test_lead_bulk_assign_owner_changes_only_the_ticked_leads(client, marketer, spec_model):
    rep = RepFactory(username="dana")
    first, second, untouched = LeadFactory(), LeadFactory(), LeadFactory()
    client.force_login(marketer)
    response = _bulk(client, [first, second], "assign", owner=rep.pk)
    assert response.status_code == 302 and response["Location"] == "/leads/?score_min=1"
    assert list(Lead.objects.filter(owner=rep).order_by("pk")) == [first, second]
    assert Lead.objects.get(pk=untouched.pk).owner is None
    page = client.get(response["Location"]).content.decode()
    assert "2 leads chosen: 2 now owned by dana." in page


def test_lead_bulk_refuses_bad_input_naming_the_field_and_changes_nothing(client, marketer, rep, spec_model):
    lead = LeadFactory()
    client.force_login(marketer)
    cases = [
        ({"lead": [], "action": "tag_add", "name": "x"}, "lead: tick at least one lead"),
        ({"lead": ["1;DROP"], "action": "tag_add", "name": "x"}, "lead: must be lead numbers"),
        ({"lead": [lead.pk], "action": "assign"}, "owner: choose the rep to assign the leads to"),
        ({"lead": [lead.pk], "action": "tag_add", "name": ""}, "name: type the tag or list name"),
        ({"lead": [lead.pk], "action": "tag_add", "name": "<b>"}, "tag: use up to 60 letters"),
        ({"lead": [lead.pk], "action": "explode"}, "action: Select a valid choice"),
    ]
    for data, message in cases:
        page = client.post("/leads/bulk/", data, follow=True).content.decode()
        assert "Nothing changed — " + message in page, message
    assert not Tag.objects.exists() and Lead.objects.get(pk=lead.pk).owner is None
    # Only marketers act in bulk.
    client.force_login(rep)
    assert _bulk(client, [lead], "tag_add", name="x").status_code == 403


def test_lead_bulk_add_and_remove_a_tag_counts_what_changed(client, marketer, spec_model):
    one, two, three = LeadFactory(), LeadFactory(), LeadFactory()
    client.force_login(marketer)
    _bulk(client, [one], "tag_add", name="event-2026")
    page = client.get(_bulk(client, [one, two], "tag_add", name="event-2026")["Location"]).content.decode()
    assert "2 leads chosen: tag “event-2026” added to 1." in page  # one already had it
    assert set(Tag.objects.get(name="event-2026").leads.all()) == {one, two}
    page = client.get(
        _bulk(client, [one, three], "tag_remove", name="event-2026")["Location"]
    ).content.decode()
    assert "2 leads chosen: tag “event-2026” removed from 1." in page
    assert list(Tag.objects.get(name="event-2026").leads.all()) == [two]


def test_lead_bulk_static_list_is_a_tag_and_one_saved_segment(client, marketer, spec_model):
    one, two, three = LeadFactory(score=30), LeadFactory(score=20), LeadFactory(score=10)
    client.force_login(marketer)
    _bulk(client, [one, two], "list_add", name="Trade show")
    page = client.get(_bulk(client, [two, three], "list_add", name="Trade show")["Location"]).content.decode()
    assert "2 leads chosen: 1 added to the static list “Trade show”." in page
    segment = Segment.objects.get(name="Trade show")
    assert (
        segment.filters == {"tag": ["Trade show"]} and Segment.objects.filter(name="Trade show").count() == 1
    )
    members = client.get(f"/leads/segments/{segment.pk}/").context["leads"]
    assert [lead.pk for lead in members] == [one.pk, two.pk, three.pk]


def test_lead_list_product_interest_threshold(client, marketer, spec_model):
    analytics, crm = ProductLineFactory(name="Analytics"), ProductLineFactory(name="CRM")
    keen, mild, other, none = (LeadFactory(name=n) for n in ("Keen", "Mild", "Other", "None"))
    ProductScore.objects.create(lead=keen, product_line=analytics, score=30)
    ProductScore.objects.create(lead=mild, product_line=analytics, score=10)
    ProductScore.objects.create(lead=other, product_line=crm, score=50)
    client.force_login(marketer)
    assert _names(client.get("/leads/?product_line=Analytics&product_score_min=20")) == ["Keen"]
    assert set(_names(client.get("/leads/?product_line=Analytics&product_score_min=10"))) == {"Keen", "Mild"}
    assert set(_names(client.get("/leads/?product_line=Analytics"))) == {"Keen", "Mild"}
    response = client.get("/leads/?product_line=Analytics&product_score_min=lots")
    assert response.status_code == 400 and "product_score_min: must be a number" in response.content.decode()


def test_lead_list_csv_has_a_column_per_product_interest(client, marketer, spec_model):
    analytics, crm = ProductLineFactory(name="Analytics"), ProductLineFactory(name="CRM")
    keen = LeadFactory(email="keen@example.com", score=80)
    LeadFactory(email="quiet@example.com", score=5)
    ProductScore.objects.create(lead=keen, product_line=analytics, score=30.5)
    ProductScore.objects.create(lead=keen, product_line=crm, score=12)
    client.force_login(marketer)
    response = client.get("/leads/?score_min=1&format=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-2:] == ["interest: Analytics", "interest: CRM"]
    assert [(r[0], r[-2], r[-1]) for r in rows[1:]] == [
        ("keen@example.com", "30.50", "12.00"),
        ("quiet@example.com", "", ""),
    ]


def test_lead_list_csv_for_a_rep_holds_only_their_leads(client, rep, spec_model):
    LeadFactory(owner=rep, email="mine@example.com")
    LeadFactory(owner=RepFactory(), email="theirs@example.com")
    client.force_login(rep)
    body = b"".join(client.get("/leads/?format=csv").streaming_content).decode()
    assert "mine@example.com" in body and "theirs@example.com" not in body


def test_home_and_dashboard_stage_cards_link_to_the_filtered_list(client, marketer, spec_model):
    LeadFactory(stage=scoring.SALES_READY, is_cold=True)
    LeadFactory(stage=scoring.SALES_READY, is_cold=False)
    LeadFactory(stage=scoring.STAGE_1, is_cold=True)
    cold = Segment.objects.create(name="Cold", filters={"cold": "1", "stage": ["1", "4"]})
    client.force_login(marketer)
    assert 'href="/leads/?stage=4"' in client.get("/").content.decode()
    page = client.get(f"/leads/dashboard/?segment={cold.pk}").content.decode()
    # The card counts the segment's leads in that stage; its link lists exactly those.
    assert 'href="/leads/?cold=1&stage=4"' in page
    assert client.get("/leads/?cold=1&stage=4").context["total"] == 1
    assert client.get("/leads/?stage=4").context["total"] == 2


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.text(max_size=25), max_size=8))
def test_bulk_lead_ids_field_accepts_only_whole_numbers_for_any_input(values):
    from django import forms

    from leads.workspace.forms import LeadIdsField

    try:
        ids = LeadIdsField().clean(values)
    except forms.ValidationError as error:
        assert error.messages[0] in (
            "must be lead numbers",
            "tick at least one lead",
            "This field is required.",
        )
    else:
        assert ids == sorted({int(v) for v in values}) and ids
        assert all(v.isascii() and v.isdigit() for v in values)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(reason=st.text(max_size=250))
def test_lead_disqualify_any_reason_is_stored_tidy_or_refused_naming_the_field(rep, spec_model, reason):
    from leads.services import LeadActionError, lead_disqualify

    lead = LeadFactory(owner=rep, stage=scoring.SALES_READY)
    tidy = " ".join(reason.replace("\x00", "").split())
    try:
        lead_disqualify(lead=lead, reason=reason, by=rep)
    except LeadActionError as error:
        assert error.field == "reason" and (not tidy or len(tidy) > 200)
        assert Lead.objects.get(pk=lead.pk).stage == scoring.SALES_READY
    else:
        assert Lead.objects.get(pk=lead.pk).stage == scoring.DISQUALIFIED
        assert lead.stage_changes.get().note == f"rep: {tidy}"
