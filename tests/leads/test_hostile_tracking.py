"""The tracking API under hostile input: write keys sit in public pages, so anyone can send
anything. No body may answer 5xx, and one bad message never costs the good ones of its batch."""

import json
from datetime import UTC, datetime, timedelta
from datetime import timezone as fixed_zone

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.ingest import rate_limit
from leads.ingest.credentials import write_key_create
from leads.models import Account, Event, Identity, Lead
from tests.leads.test_tracking_api import post

pytestmark = pytest.mark.django_db
ACCEPTABLE = {200, 400, 401, 413, 429}
ZONES = [UTC, fixed_zone(timedelta(hours=5)), fixed_zone(timedelta(hours=-12))]
HYPOTHESIS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def write_key(spec_model):
    rate_limit.reset()
    return write_key_create(name="Website")[1]


def nested(depth: int):
    value: dict = {}
    node = value
    for _ in range(depth):
        node["a"] = {}
        node = node["a"]
    return value


# Any JSON value, weighted towards the ones that broke ingest: lone surrogates, NUL, integers
# of hundreds of digits, NaN/Infinity (Python's decoder accepts them), instants that overflow
# on conversion to UTC or lie before 1970, blank-after-normalising ids, and deep nesting.
dangerous = st.sampled_from(
    ["sur\ud800", "nul\x00", "0001-01-01T00:00:00+05:00", "1900-01-01T00:00:00Z", "https://", "   ", 10**400]
)
instants = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.sampled_from(ZONES)
).map(datetime.isoformat)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**15, max_value=10**400)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(st.characters(blacklist_categories=()), max_size=12)
)
json_values = st.one_of(
    dangerous,
    instants,
    st.recursive(
        scalars | dangerous,
        lambda children: (
            st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
        ),
        max_leaves=8,
    ),
    st.integers(min_value=20, max_value=60).map(nested),
)

VALID = {
    "identify": {"userId": "u-prop", "traits": {"email": "prop@example.com", "name": "Pro"}},
    "track": {"userId": "u-prop", "event": "Video Watched", "properties": {"percent": 40}},
    "page": {"userId": "u-prop", "properties": {"url": "https://x.example/pricing"}},
    "group": {"userId": "u-prop", "groupId": "g-prop", "traits": {"name": "Prop", "domain": "prop.example"}},
    "alias": {"userId": "u-prop", "previousId": "anon-prop"},
}
FIELDS = [
    "userId",
    "anonymousId",
    "messageId",
    "timestamp",
    "event",
    "name",
    "groupId",
    "previousId",
    "properties",
    "traits",
    "context",
    "properties.percent",
    "properties.url",
    "traits.email",
    "traits.company",
    "traits.domain",
    "context.page",
]


def with_value(message: dict, field: str, value) -> dict:
    message = json.loads(json.dumps(message))
    head, _, tail = field.partition(".")
    if tail:
        inner = message.get(head)
        message[head] = {**(inner if isinstance(inner, dict) else {}), tail: value}
    else:
        message[head] = value
    return message


def body(value) -> str:
    return json.dumps(value, allow_nan=True)  # ensure_ascii: a lone surrogate travels as \ud800


@pytest.mark.parametrize("endpoint", sorted(VALID))
@HYPOTHESIS
@given(field=st.sampled_from(FIELDS), value=json_values)
def test_tracking_endpoints_answer_any_json_value_without_a_server_error(
    client, write_key, endpoint, field, value
):
    response = post(client, endpoint, body(with_value(VALID[endpoint], field, value)), write_key)
    assert response.status_code in ACCEPTABLE, response.content[:300]
    assert response["Content-Type"] == "application/json"


@HYPOTHESIS
@given(value=json_values)
def test_tracking_body_of_any_json_value_answers_without_a_server_error(client, write_key, value):
    for endpoint in ("track", "batch"):
        response = post(client, endpoint, body(value), write_key)
        assert response.status_code in ACCEPTABLE, response.content[:300]


def valid_track(n: int, at) -> dict:
    return {
        "type": "track",
        "userId": f"u{n}",
        "event": "Form Submitted",
        "messageId": f"valid-{n}",
        "timestamp": at.isoformat(),
    }


hostile_messages = (
    st.builds(
        with_value,
        message=st.sampled_from([{"type": kind, **message} for kind, message in VALID.items()]),
        field=st.sampled_from(FIELDS + ["type"]),
        value=json_values,
    )
    | json_values
)


@HYPOTHESIS
@given(layout=st.lists(st.one_of(st.none(), hostile_messages), min_size=1, max_size=8))
def test_batch_stores_every_valid_message_exactly_once_whatever_its_neighbours(client, write_key, layout):
    """`None` in the layout is a valid message; anything else a hostile neighbour. The batch is
    sent twice (as a client retrying would): every valid message is stored once."""
    at = timezone.now() - timedelta(hours=1)
    start = Event.objects.count()
    base = start * 100  # distinct message ids across examples
    messages, valid_ids = [], []
    for position, item in enumerate(layout):
        if item is None:
            messages.append(valid_track(base + position, at))
            valid_ids.append(f"valid-{base + position}")
        else:
            messages.append(item)
    for _ in range(2):
        response = post(client, "batch", body({"batch": messages}), write_key)
        assert response.status_code in ({200} if valid_ids else {200, 400}), response.content[:300]
        if valid_ids:
            rejected = {row["index"] for row in response.json().get("rejected", [])}
            assert not rejected & {i for i, item in enumerate(layout) if item is None}
    for message_id in valid_ids:
        assert Event.objects.filter(idempotency_key=message_id).count() == 1


# --- one test per failure class ---------------------------------------------------------------


def test_batch_lone_surrogate_is_rejected_alone_and_the_good_messages_are_stored(client, write_key):
    at = timezone.now() - timedelta(hours=1)
    batch = [
        valid_track(1, at),
        {**valid_track(2, at), "event": "sur\ud800"},
        {**valid_track(3, at), "traits": {"name": "x\ud800"}},
        valid_track(4, at),
    ]
    response = post(client, "batch", body({"batch": batch}), write_key)
    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {
            "index": 1,
            "field": "event",
            "reason": "contains a lone UTF-16 surrogate, which is not valid Unicode text",
        },
        {
            "index": 2,
            "field": "traits.name",
            "reason": "contains a lone UTF-16 surrogate, which is not valid Unicode text",
        },
    ]
    assert sorted(Event.objects.values_list("idempotency_key", flat=True)) == ["valid-1", "valid-4"]


def test_track_integer_of_hundreds_of_digits_is_400_naming_the_field(client, write_key):
    message = {**valid_track(1, timezone.now()), "properties": {"percent": 10**300}}
    response = post(client, "track", body(message), write_key)
    assert response.status_code == 400 and response.json()["field"] == "properties.percent"
    thousands = '{"type": "track", "userId": "u1", "event": "x", "properties": {"n": ' + "9" * 5000 + "}}"
    response = post(client, "track", thousands, write_key)
    assert response.status_code == 400 and response.json()["field"] == "body"
    assert not Event.objects.exists()


def test_track_timestamp_that_overflows_on_utc_conversion_is_400(client, write_key):
    message = {**valid_track(1, timezone.now()), "timestamp": "0001-01-01T00:00:00+05:00"}
    response = post(client, "track", message, write_key)
    assert response.status_code == 400 and response.json()["field"] == "timestamp"


@pytest.mark.parametrize(
    "timestamp", ["0001-01-01T00:00:00Z", "1900-06-01T00:00:00Z", "1969-12-31T23:59:59Z"]
)
def test_track_event_dated_before_1970_is_400(client, write_key, timestamp):
    response = post(client, "track", {**valid_track(1, timezone.now()), "timestamp": timestamp}, write_key)
    assert response.status_code == 400 and response.json()["field"] == "timestamp"
    assert "1970" in response.json()["message"] and not Event.objects.exists()


def test_track_properties_nested_too_deep_are_400_and_nothing_is_stored(client, write_key):
    message = {**valid_track(1, timezone.now()), "properties": nested(40)}
    response = post(client, "track", message, write_key)
    assert response.status_code == 400
    assert response.json()["field"].startswith("properties.a") and "32 levels" in response.json()["message"]
    # ~935 levels: decoding already gives up inside a request (it used to pass and fail on save)
    message = {**valid_track(1, timezone.now()), "properties": nested(935)}
    response = post(client, "track", message, write_key)
    assert response.status_code == 400 and response.json()["field"] in ("body", "properties")
    assert not Event.objects.exists()


def test_batch_message_whose_storage_fails_is_rejected_alone(client, write_key, monkeypatch):
    """A failure inside one message's storage (here a value the database refuses) never turns
    the batch into a 500; its neighbours are stored."""
    from django.db import DataError

    from leads.ingest import messages as messages_module

    real = messages_module.events_ingest

    def refusing(*, events, **kwargs):
        if any(event.idempotency_key == "valid-2" for event in events):
            raise DataError("value refused")
        return real(events=events, **kwargs)

    monkeypatch.setattr(messages_module, "events_ingest", refusing)
    at = timezone.now() - timedelta(hours=1)
    response = post(client, "batch", {"batch": [valid_track(n, at) for n in (1, 2, 3)]}, write_key)
    assert response.status_code == 200
    assert [row["index"] for row in response.json()["rejected"]] == [1]
    assert sorted(Event.objects.values_list("idempotency_key", flat=True)) == ["valid-1", "valid-3"]


def test_identify_with_the_email_of_a_lead_with_another_user_id_is_400_and_moves_nothing(client, write_key):
    real = Lead.objects.create(email="ana@example.com", user_id="u-ana", name="Ana")
    response = post(
        client, "identify", {"userId": "u-evil", "traits": {"email": "ana@example.com"}}, write_key
    )
    assert response.status_code == 400 and response.json()["field"] == "traits.email"
    real.refresh_from_db()
    assert (real.user_id, real.email, real.name) == ("u-ana", "ana@example.com", "Ana")
    assert not Lead.objects.filter(user_id="u-evil").exists()


def test_anonymous_identify_never_renames_a_known_lead(client, write_key):
    real = Lead.objects.create(email="ana@example.com", user_id="u-ana", name="Ana", title="CTO")
    message = {
        "anonymousId": "anon-evil",
        "traits": {"email": "ana@example.com", "name": "Mallory", "title": "x"},
    }
    assert post(client, "identify", message, write_key).status_code == 200
    real.refresh_from_db()
    assert (real.name, real.title, real.user_id) == ("Ana", "CTO", "u-ana")
    assert Identity.objects.get(anonymous_id="anon-evil").lead is None


def test_alias_never_moves_a_visitor_joined_to_another_lead(client, write_key):
    real = Lead.objects.create(email="ana@example.com", user_id="u-ana")
    Identity.objects.create(anonymous_id="anon-ana", lead=real)
    response = post(client, "alias", {"userId": "u-evil", "previousId": "anon-ana"}, write_key)
    assert response.status_code == 400 and response.json()["field"] == "previousId"
    assert Identity.objects.get(anonymous_id="anon-ana").lead == real
    track = {"type": "track", "anonymousId": "anon-ana", "event": "Form Submitted"}
    assert post(client, "track", track, write_key).status_code == 200
    assert Event.objects.get(anonymous_id="anon-ana").lead == real  # her next visit is still hers


def test_identify_never_moves_an_anonymous_id_joined_to_another_lead(client, write_key):
    real = Lead.objects.create(email="ana@example.com", user_id="u-ana")
    Identity.objects.create(anonymous_id="anon-ana", lead=real)
    message = {"userId": "u-evil", "anonymousId": "anon-ana", "traits": {"email": "evil@example.com"}}
    response = post(client, "identify", message, write_key)
    assert response.status_code == 400 and response.json()["field"] == "anonymousId"
    assert Identity.objects.get(anonymous_id="anon-ana").lead == real
    assert not Lead.objects.filter(user_id="u-evil").exists()  # the message was refused whole


def test_group_with_another_group_id_links_to_the_account_without_rekeying_it(client, write_key):
    account = Account.objects.create(domain="initech.example", name="Initech", group_id="g-1")
    message = {
        "userId": "u1",
        "groupId": "g-evil",
        "traits": {"name": "Evil Corp", "domain": "initech.example"},
    }
    assert post(client, "group", message, write_key).status_code == 200
    account.refresh_from_db()
    assert (account.name, account.group_id) == ("Initech", "g-1")
    assert Lead.objects.get(user_id="u1").account == account


@pytest.mark.parametrize(
    "message, field",
    [
        ({"userId": "u1", "groupId": "   ", "traits": {"name": "Blank"}}, "groupId"),
        ({"userId": "u1", "groupId": "g-1", "traits": {"domain": "https://"}}, "traits.domain"),
        ({"userId": "u1", "groupId": "g-1", "traits": {"website": "http:///about"}}, "traits.domain"),
    ],
)
def test_group_with_a_blank_group_id_or_domain_is_400_and_creates_no_account(
    client, write_key, message, field
):
    response = post(client, "group", message, write_key)
    assert response.status_code == 400 and response.json()["field"] == field
    assert not Account.objects.exists()


def test_rate_limit_counts_messages_so_large_batches_cannot_bypass_it(client, write_key, settings):
    settings.TRACKING_EVENTS_PER_MINUTE = 50
    rate_limit.reset()
    at = timezone.now() - timedelta(hours=1)
    too_big = post(client, "batch", {"batch": [valid_track(n, at) for n in range(60)]}, write_key)
    assert too_big.status_code == 429 and int(too_big["Retry-After"]) >= 1
    assert "at most 50 messages per batch" in too_big.json()["message"]
    first = post(client, "batch", {"batch": [valid_track(n, at) for n in range(100, 130)]}, write_key)
    second = post(client, "batch", {"batch": [valid_track(n, at) for n in range(200, 230)]}, write_key)
    assert (first.status_code, second.status_code) == (200, 429)
    assert Event.objects.count() == 30


def test_read_api_answers_post_with_json_405(client, write_key):
    response = client.post("/api/v1/leads/ana@example.com", data="{}", content_type="application/json")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"
    assert response.json()["code"] == "method_not_allowed"
    response = client.get("/api/v1/track")
    assert response.status_code == 405 and response.json()["success"] is False
