import base64
import gzip
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from leads.ingest.credentials import write_key_create
from leads.models import Account, Event, Identity, Lead
from tests.conftest import day

pytestmark = pytest.mark.django_db


@pytest.fixture
def write_key(spec_model):
    return write_key_create(name="Website")[1]


def post(client, path, body, key, **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    auth = base64.b64encode(f"{key}:".encode()).decode()
    return client.post(
        f"/api/v1/{path}",
        data=data,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {auth}",
        **headers,
    )


def track(user_id="u1", event="Form Submitted", at=None, **fields):
    at = day(0) if at is None else at
    return {"type": "track", "userId": user_id, "event": event, "timestamp": at.isoformat(), **fields}


def test_track_scores_the_lead_and_answers_like_segment(client, write_key):
    response = post(client, "track", track(messageId="m1"), write_key)
    assert response.status_code == 200 and response.json() == {"success": True}
    lead = Lead.objects.get(user_id="u1")
    assert lead.score == 25 and lead.stage == 1
    event = Event.objects.get(idempotency_key="m1")
    assert (event.type, event.occurred_at, event.source) == ("form_submit", day(0), "Website")


def test_unknown_write_key_is_401(client, write_key):
    response = post(client, "track", track(), "wk_not-a-key")
    assert response.status_code == 401
    assert "write key" in response.json()["message"]
    assert not Event.objects.exists()


def test_write_key_may_come_in_the_body_as_some_clients_send_it(client, write_key):
    response = client.post(
        "/api/v1/batch",
        data=json.dumps({"batch": [track()], "writeKey": write_key}),
        content_type="application/json",
    )
    assert response.status_code == 200


def test_malformed_json_is_400_naming_the_body(client, write_key):
    response = post(client, "track", '{"type": "track", "userId": ', write_key)
    assert response.status_code == 400
    assert response.json()["field"] == "body" and "not valid JSON" in response.json()["message"]


def test_message_over_32_kb_is_400_naming_the_limit(client, write_key):
    response = post(client, "track", track(properties={"blob": "x" * 33_000}), write_key)
    assert response.status_code == 400 and "32 KB" in response.json()["message"]
    assert not Event.objects.exists()


def test_batch_over_500_kb_is_400_naming_the_limit(client, write_key):
    messages = [track(user_id=f"u{n}", properties={"blob": "x" * 20_000}) for n in range(26)]
    response = post(client, "batch", {"batch": messages}, write_key)
    assert response.status_code == 400 and "500 KB" in response.json()["message"]
    assert not Event.objects.exists()


def test_a_message_over_32_kb_inside_a_batch_is_rejected_by_index(client, write_key):
    response = post(
        client, "batch", {"batch": [track(), track(properties={"blob": "x" * 33_000})]}, write_key
    )
    assert response.status_code == 200
    assert (
        response.json()["rejected"][0]["index"] == 1 and "32 KB" in response.json()["rejected"][0]["reason"]
    )
    assert Event.objects.count() == 1


def test_neither_user_id_nor_anonymous_id_is_400_naming_both(client, write_key):
    message = track()
    del message["userId"]
    response = post(client, "track", message, write_key)
    assert response.status_code == 400
    assert response.json()["field"] == "userId" and "anonymousId" in response.json()["message"]


@pytest.mark.parametrize(
    "timestamp, reason", [("yesterday at noon", "ISO 8601"), ("2026-13-45T00:00:00Z", "ISO 8601")]
)
def test_unparseable_timestamp_is_400_naming_the_field(client, write_key, timestamp, reason):
    response = post(client, "track", {**track(), "timestamp": timestamp}, write_key)
    assert response.status_code == 400
    assert response.json()["field"] == "timestamp" and reason in response.json()["message"]


def test_timestamp_more_than_24_hours_ahead_is_400_and_just_under_is_accepted(client, write_key):
    ahead = timezone.now() + timedelta(hours=25)
    response = post(client, "track", track(at=ahead), write_key)
    assert response.status_code == 400 and response.json()["field"] == "timestamp"
    assert "24 hours" in response.json()["message"]
    assert post(client, "track", track(at=timezone.now() + timedelta(hours=23)), write_key).status_code == 200


@pytest.mark.parametrize(
    "properties, field",
    [
        ({"percent": 101}, "properties.percent"),
        ({"percent": -1}, "properties.percent"),
        ({"percent": "half"}, "properties.percent"),
    ],
)
def test_video_percent_outside_0_to_100_is_400(client, write_key, properties, field):
    response = post(client, "track", track(event="Video Watched", properties=properties), write_key)
    assert response.status_code == 400 and response.json()["field"] == field
    assert not Event.objects.exists()


def test_video_position_past_the_end_is_400(client, write_key):
    properties = {"asset_id": "v1", "position": 130, "total_length": 120}
    response = post(client, "track", track(event="Video Content Playing", properties=properties), write_key)
    assert response.status_code == 400 and response.json()["field"] == "properties.position"


def test_video_progress_awards_only_the_increase_per_video(client, write_key):
    def playing(position, at, asset="v1"):
        return track(
            event="Video Content Playing",
            at=at,
            properties={"content_asset_id": asset, "position": position, "total_length": 120},
        )

    batch = [
        playing(30, day(0)),
        playing(60, day(0) + timedelta(minutes=1)),
        playing(45, day(0) + timedelta(minutes=2)),
        track(
            event="Video Content Completed",
            at=day(0) + timedelta(minutes=3),
            properties={"content_asset_id": "v1"},
        ),
        playing(12, day(0) + timedelta(minutes=4), asset="v2"),
    ]
    assert post(client, "batch", {"batch": batch}, write_key).status_code == 200
    # v1: 25 % → 5, 50 % → +5, 37.5 % → 0, completed 100 % → +10; v2: 10 % → 2
    assert Lead.objects.get(user_id="u1").score == pytest.approx(22)
    assert Event.objects.filter(type="video_play").count() == 5


def test_a_batch_stores_the_good_messages_and_lists_the_rejected_by_index(client, write_key):
    batch = [
        track(messageId="good-1"),
        {"type": "track", "event": "Form Submitted"},
        track(messageId="good-2", at=day(1)),
        {**track(), "timestamp": "soon"},
        {"type": "nonsense", "userId": "u1"},
    ]
    response = post(client, "batch", {"batch": batch}, write_key)
    assert response.status_code == 200
    rejected = response.json()["rejected"]
    assert [(r["index"], r["field"]) for r in rejected] == [(1, "userId"), (3, "timestamp"), (4, "type")]
    assert set(Event.objects.values_list("idempotency_key", flat=True)) == {"good-1", "good-2"}
    assert Lead.objects.get(user_id="u1").score == 50


def test_a_batch_where_every_message_is_bad_is_400_with_the_list(client, write_key):
    response = post(client, "batch", {"batch": [{"type": "track"}]}, write_key)
    assert response.status_code == 400 and response.json()["rejected"][0]["index"] == 0


def test_the_same_message_id_twice_is_stored_and_scored_once(client, write_key):
    for _ in range(2):
        assert post(client, "track", track(messageId="retry-me"), write_key).status_code == 200
    assert post(client, "batch", {"batch": [track(messageId="retry-me")]}, write_key).status_code == 200
    assert Event.objects.filter(idempotency_key="retry-me").count() == 1
    assert Lead.objects.get(user_id="u1").score == 25


def test_gzip_encoded_bodies_are_accepted(client, write_key):
    body = gzip.compress(json.dumps({"batch": [track(messageId="zipped")]}).encode())
    response = post(client, "batch", body, write_key, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 200
    assert Event.objects.filter(idempotency_key="zipped").exists()


def test_a_body_that_claims_gzip_but_is_not_is_400(client, write_key):
    response = post(client, "batch", {"batch": []}, write_key, HTTP_CONTENT_ENCODING="gzip")
    assert response.status_code == 400 and response.json()["field"] == "body"


def test_anonymous_history_joins_the_lead_on_identify(client, write_key):
    # Recent instants: joining replays the lead up to now, and old history would have decayed.
    start = timezone.now() - timedelta(days=3)
    anonymous = [
        {"type": "track", "anonymousId": "anon-7", "event": "Form Submitted", "timestamp": start.isoformat()},
        {
            "type": "track",
            "anonymousId": "anon-7",
            "event": "Trial Started",
            "timestamp": (start + timedelta(days=1)).isoformat(),
        },
    ]
    assert post(client, "batch", {"batch": anonymous}, write_key).status_code == 200
    assert Event.objects.filter(lead__isnull=True).count() == 2
    identify = {
        "userId": "u9",
        "anonymousId": "anon-7",
        "timestamp": (start + timedelta(days=2)).isoformat(),
        "traits": {"email": "Ana@Example.com", "firstName": "Ana", "lastName": "Silva", "title": "CTO"},
    }
    assert post(client, "identify", identify, write_key).status_code == 200
    lead = Lead.objects.get(user_id="u9")
    assert (lead.email, lead.name, lead.title, lead.score, lead.stage) == (
        "ana@example.com",
        "Ana Silva",
        "CTO",
        55,
        2,
    )
    assert Identity.objects.get(anonymous_id="anon-7").lead == lead
    # later anonymous events of the same visitor go straight to the lead
    later = {
        "anonymousId": "anon-7",
        "event": "Form Submitted",
        "timestamp": (start + timedelta(days=3)).isoformat(),
    }
    assert post(client, "track", later, write_key).status_code == 200
    lead.refresh_from_db()
    assert lead.score == 80


def test_identify_with_a_bad_email_is_400_naming_the_trait(client, write_key):
    response = post(client, "identify", {"userId": "u1", "traits": {"email": "not an email"}}, write_key)
    assert response.status_code == 400 and response.json()["field"] == "traits.email"
    assert not Lead.objects.exists()


def test_group_links_the_lead_to_its_account_and_rolls_up_the_score(client, write_key):
    recently = timezone.now() - timedelta(hours=1)  # engaged: inside the 90-day account window
    batch = [track(user_id="a", at=recently), track(user_id="b", event="Trial Started", at=recently)]
    post(client, "batch", {"batch": batch}, write_key)
    for user in ("a", "b"):
        body = {
            "userId": user,
            "groupId": "g-42",
            "traits": {"name": "Initech", "website": "https://www.initech.example/"},
        }
        assert post(client, "group", body, write_key).status_code == 200
    account = Account.objects.get(domain="initech.example")
    assert (account.name, account.group_id, account.score, account.member_count) == ("Initech", "g-42", 55, 2)


def test_group_without_a_group_id_is_400(client, write_key):
    response = post(client, "group", {"userId": "u1", "traits": {"name": "Initech"}}, write_key)
    assert response.status_code == 400 and response.json()["field"] == "groupId"


def test_alias_joins_a_previous_id_to_the_user(client, write_key):
    post(client, "track", {"anonymousId": "old-id", "event": "Form Submitted"}, write_key)
    assert post(client, "alias", {"previousId": "old-id", "userId": "u5"}, write_key).status_code == 200
    assert Lead.objects.get(user_id="u5").score == 25


def test_page_takes_the_url_from_properties_then_context(client, write_key):
    from tests.factories import AssetFactory

    AssetFactory(key="https://shop.example/pricing", sales_ready=True)
    pages = [
        {
            "type": "page",
            "userId": "u1",
            "name": "Pricing",
            "timestamp": day(0).isoformat(),
            "properties": {"url": "https://shop.example/pricing?ref=ad"},
        },
        {
            "type": "page",
            "userId": "u1",
            "timestamp": day(0).isoformat(),
            "messageId": "ctx",
            "context": {"page": {"url": "https://SHOP.example/pricing/"}, "campaign": {"name": "spring"}},
        },
    ]
    assert post(client, "batch", {"batch": pages}, write_key).status_code == 200
    assert Lead.objects.get(user_id="u1").score == 10
    event = Event.objects.get(idempotency_key="ctx")
    assert (event.url, event.campaign, event.asset_key) == (
        "https://SHOP.example/pricing/",
        "spring",
        "https://shop.example/pricing",
    )


def test_public_text_is_stored_verbatim(client, write_key):
    name = '<script>alert("x")</script> Ünïcode'
    properties = {"url": "javascript:alert(1)", "note": "<b>bold</b>"}
    post(client, "track", track(event=name, properties=properties, messageId="raw"), write_key)
    event = Event.objects.get(idempotency_key="raw")
    assert (event.name, event.url, event.properties) == (name, "javascript:alert(1)", properties)


def test_only_post_is_allowed(client, write_key):
    assert client.get("/api/v1/track").status_code == 405


def test_a_source_over_its_rate_limit_gets_429_with_retry_after(client, write_key, settings):
    from leads.ingest import rate_limit

    settings.TRACKING_EVENTS_PER_MINUTE = 60  # one message a second
    rate_limit.reset()
    try:
        assert (
            post(
                client, "batch", {"batch": [track(user_id=f"u{n}") for n in range(60)]}, write_key
            ).status_code
            == 200
        )
        response = post(client, "track", track(user_id="late"), write_key)
        assert response.status_code == 429 and response["Retry-After"] == "1"
        assert not Lead.objects.filter(user_id="late").exists()
    finally:
        rate_limit.reset()


def test_tracked_text_is_shown_escaped_and_javascript_urls_never_become_links(client, write_key, marketer):
    name = "<img src=x onerror=alert(1)>"
    page = {
        "type": "page",
        "userId": "u1",
        "name": name,
        "timestamp": timezone.now().isoformat(),
        "properties": {"url": "javascript:alert(document.cookie)"},
    }
    event = track(event=name, at=timezone.now(), properties={"url": "javascript:alert(2)"})
    identify = {"type": "identify", "userId": "u1", "traits": {"email": "x@example.com", "name": name}}
    assert post(client, "batch", {"batch": [identify, page, event]}, write_key).status_code == 200
    client.force_login(marketer)
    lead = Lead.objects.get(user_id="u1")
    for url in ("/", f"/leads/{lead.pk}/"):
        html = client.get(url).content.decode()
        assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
        assert 'href="javascript' not in html.lower()


@pytest.mark.parametrize(
    "body, reason",
    [
        ('{"type": "track", "userId": "u1", "event": "Form Submitted", "properties": {"x": NaN}}', "NaN"),
        ('{"type": "track", "userId": "u1", "event": "Form\\u0000Submitted"}', "NUL"),
    ],
)
def test_values_the_database_cannot_store_are_400_not_500(client, write_key, body, reason):
    response = post(client, "track", body, write_key)
    assert response.status_code == 400 and reason in response.json()["message"]


def test_a_body_beyond_djangos_upload_cap_is_the_same_clear_400(client, write_key, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(client, "batch", {"batch": [track(properties={"blob": "x" * 2000})]}, write_key)
    assert response.status_code == 400 and "500 KB" in response.json()["message"]
