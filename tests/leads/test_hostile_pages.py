"""Pages under careless and hostile input: any string or date in a URL answers 200 or 400,
and no stored value (a segment's filter, a deeply nested event) can make a page fail."""

import urllib.parse
from datetime import date

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.models import Event, Lead, Segment
from leads.workspace.filters import FILTER_FIELDS
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db
HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

# What a URL can carry: any text (as UTF-8), raw bytes that are not UTF-8, any date.
url_values = (
    st.text(max_size=20).map(lambda text: urllib.parse.quote(text, safe=""))
    | st.binary(max_size=12).map(urllib.parse.quote_from_bytes)
    | st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(date.isoformat)
    | st.sampled_from(["9999-12-31", "0001-01-01", "1e308", "-1e308", "nan", "99999999999999999999", "%00"])
)
# The date and number filters are listed again so they come up more often: they overflowed.
LIST_KEYS = (
    FILTER_FIELDS + ("sort", "page", "segment", "format") + ("active_since", "active_until", "score_min") * 3
)
DASHBOARD_KEYS = ("since", "until", "segment")


def query(pairs) -> str:
    return "&".join(f"{urllib.parse.quote(key)}={value}" for key, value in pairs)


@pytest.fixture
def signed_in(client, marketer, spec_model):
    client.force_login(marketer)
    return client


@HYPOTHESIS
@given(pairs=st.lists(st.tuples(st.sampled_from(LIST_KEYS), url_values), max_size=4))
def test_lead_list_answers_any_parameters_with_200_or_400(signed_in, pairs):
    response = signed_in.get(f"/leads/?{query(pairs)}")
    assert response.status_code in (200, 400)


@HYPOTHESIS
@given(
    pairs=st.lists(st.tuples(st.sampled_from(DASHBOARD_KEYS), url_values), max_size=3),
    url=st.sampled_from(
        [
            "/leads/dashboard/",
            "/leads/dashboard/charts/stages.json",
            "/leads/dashboard/charts/scores.json",
            "/leads/dashboard/charts/forecast.json",
        ]
    ),
)
def test_dashboard_and_charts_answer_any_parameters_with_200_or_400(signed_in, pairs, url):
    response = signed_in.get(f"{url}?{query(pairs)}")
    assert response.status_code in (200, 400)


@settings(HYPOTHESIS, max_examples=30)
@given(pairs=st.lists(st.tuples(st.sampled_from(LIST_KEYS), url_values), max_size=3))
def test_segment_saved_from_any_parameters_leaves_every_segment_page_working(signed_in, pairs):
    """Whatever a marketer saves is refused or works on the segment list, its page, its CSV,
    the dashboard filtered by it and the NPS page."""
    saved = signed_in.post(
        "/leads/segments/",
        {"name": f"s{Segment.objects.count()}", "query": urllib.parse.unquote(query(pairs))},
    )
    assert saved.status_code == 302
    for segment in Segment.objects.filter(built_in=""):
        for url in (
            "/leads/segments/",
            f"/leads/segments/{segment.pk}/",
            f"/leads/segments/{segment.pk}/members.csv",
            f"/leads/segments/{segment.pk}/edit/",
            f"/leads/dashboard/?segment={segment.pk}",
            "/surveys/",
        ):
            assert signed_in.get(url).status_code in (200, 400), url


@HYPOTHESIS
@given(page=url_values)
def test_segment_page_answers_any_page_number_with_200_or_400(signed_in, page):
    segment = Segment.objects.get_or_create(name="All", defaults={"filters": {}})[0]
    assert signed_in.get(f"/leads/segments/{segment.pk}/?page={page}").status_code in (200, 400)


# --- one test per failure class ---------------------------------------------------------------


def test_dates_that_overflow_are_400_naming_the_field(signed_in):
    response = signed_in.get("/leads/?active_until=9999-12-31")
    assert response.status_code == 400 and "active_until" in response.content.decode()
    response = signed_in.get("/leads/dashboard/?until=0001-01-01")
    assert response.status_code == 400 and "until" in response.context["error"]
    response = signed_in.get("/leads/dashboard/charts/stages.json?since=0001-01-01&until=0001-01-02")
    assert response.status_code == 400 and response.json()["error"].startswith("since")


def test_segment_saved_with_a_date_out_of_range_is_refused(signed_in):
    response = signed_in.post("/leads/segments/", {"name": "Far", "query": "active_until=9999-12-31"})
    assert response.status_code == 302 and not Segment.objects.filter(name="Far").exists()


def test_stored_segment_with_a_broken_filter_breaks_no_page_and_can_be_deleted(signed_in):
    """Saved before the range checks existed: every page still answers, and the marketer can
    delete it in the app."""
    LeadFactory(score=10)
    broken = Segment.objects.create(name="Broken", filters={"active_until": "9999-12-31"})
    assert signed_in.get("/leads/segments/").status_code == 200
    assert "invalid filter" in signed_in.get("/leads/segments/").content.decode()
    assert signed_in.get(f"/leads/segments/{broken.pk}/").status_code == 400
    assert signed_in.get(f"/leads/segments/{broken.pk}/members.csv").status_code == 400
    dashboard = signed_in.get(f"/leads/dashboard/?segment={broken.pk}")
    assert dashboard.status_code == 400 and "segment" in dashboard.context["error"]
    assert signed_in.get("/surveys/").status_code == 200
    response = signed_in.post(f"/leads/segments/{broken.pk}/delete/")
    assert response.status_code == 302 and not Segment.objects.filter(pk=broken.pk).exists()


def test_segment_edit_changes_name_order_and_filter_and_refuses_a_bad_filter(signed_in):
    LeadFactory(score=10, stage=1)
    LeadFactory(score=120, stage=4)
    segment = Segment.objects.create(name="Hot", filters={"stage": ["4"]})
    form = signed_in.get(f"/leads/segments/{segment.pk}/edit/")
    assert form.status_code == 200 and 'value="stage=4"' in form.content.decode()
    bad = signed_in.post(
        f"/leads/segments/{segment.pk}/edit/",
        {"name": "Hot", "order": "score", "filters": "score_min=lots"},
    )
    assert bad.status_code == 400 and "score_min" in bad.content.decode()
    segment.refresh_from_db()
    assert segment.filters == {"stage": ["4"]}
    saved = signed_in.post(
        f"/leads/segments/{segment.pk}/edit/",
        {"name": "Warm", "description": "re-engage", "order": "score", "filters": "score_max=50"},
    )
    assert saved.status_code == 302
    segment.refresh_from_db()
    assert (segment.name, segment.description, segment.order, segment.filters) == (
        "Warm",
        "re-engage",
        "score",
        {"score_max": 50.0},
    )
    assert signed_in.get(f"/leads/segments/{segment.pk}/").context["total"] == 1


def test_built_in_segment_cannot_be_deleted_or_refiltered(signed_in):
    signed_in.get("/leads/segments/")
    cold = Segment.objects.get(built_in="cold-nurture")
    assert signed_in.post(f"/leads/segments/{cold.pk}/delete/").status_code == 302
    assert Segment.objects.filter(pk=cold.pk).exists()
    response = signed_in.post(
        f"/leads/segments/{cold.pk}/edit/", {"name": "Nurture", "order": "score", "filters": "cold=0"}
    )
    assert response.status_code == 400
    cold.refresh_from_db()
    assert cold.filters == {"cold": "1"} and cold.name != "Nurture"


def test_event_nested_near_the_recursion_limit_breaks_neither_home_nor_admin(signed_in, admin_client):
    """Stored before the depth limit: the home page's recent events and the event's admin page
    still answer."""
    lead = Lead.objects.create(email="deep@example.com")
    deep: dict = {}
    node = deep
    for _ in range(900):
        node["a"] = {}
        node = node["a"]
    event = Event.objects.create(
        lead=lead, type="custom", name="deep", occurred_at=timezone.now(), properties=deep
    )
    assert signed_in.get("/").status_code == 200
    assert admin_client.get(reverse("admin:leads_event_change", args=[event.pk])).status_code == 200
    assert admin_client.get(reverse("admin:leads_event_changelist")).status_code == 200


def test_qualification_email_plain_text_has_no_html_entities(spec_model, django_capture_on_commit_callbacks):
    from leads.background.qualification import qualification_evaluate
    from tests.factories import AccountFactory, RepFactory

    rep = RepFactory(username="rep")
    account = AccountFactory(name="O'Brien & Sons <Ltd>", owner=rep)
    LeadFactory(name="Ana O'Neil", title='R&D "lead"', account=account, score=120)
    with django_capture_on_commit_callbacks(execute=True):
        qualification_evaluate(now=timezone.now())
    text = mail.outbox[0].body
    assert "Ana O'Neil, R&D \"lead\" at O'Brien & Sons <Ltd>" in text
    assert "&#x27;" not in text and "&amp;" not in text and "&lt;" not in text
    html = mail.outbox[0].alternatives[0][0]
    assert "O&#x27;Brien &amp; Sons &lt;Ltd&gt;" in html  # the HTML part stays escaped
