"""Oversized and deeply nested JSON bodies: every API endpoint answers 400
naming the body, quickly; never a 500, never a hang."""

import base64
import json
import time

import pytest

from leads.ingest import credentials, rate_limit

pytestmark = pytest.mark.django_db

TRACKING = ("identify", "track", "page", "screen", "group", "alias", "batch", "import")
DEPTH = 100_000


def nested(depth: int, inside: str = "1") -> str:
    return "[" * depth + inside + "]" * depth


BODIES = {
    "deep arrays": nested(DEPTH),
    "deep inside a message": '{"userId": "u", "event": "x", "properties": {"a": ' + nested(DEPTH) + "}}",
    "deep inside a batch": '{"batch": [' + nested(DEPTH, "{}") + "]}",
    "deep objects": '{"a":' * 50_000 + "1" + "}" * 50_000,
    "oversized": json.dumps({"userId": "u", "event": "x", "properties": {"blob": "x" * 2_000_000}}),
    "oversized batch": json.dumps(
        {"batch": [{"userId": "u", "event": "x", "properties": {"b": "y" * 1000}}] * 2000}
    ),
}


@pytest.fixture
def auth(db):
    rate_limit.reset()
    _, secret = credentials.write_key_create(name="Website")
    return "Basic " + base64.b64encode(f"{secret}:".encode()).decode()


@pytest.mark.parametrize("endpoint", TRACKING)
@pytest.mark.parametrize("kind", BODIES)
def test_hostile_bodies_are_refused_quickly(client, spec_model, auth, endpoint, kind):
    started = time.monotonic()
    response = client.post(
        f"/api/v1/{endpoint}", BODIES[kind], content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert time.monotonic() - started < 5
    assert response.status_code in (400, 413), response.content[:300]
    body = response.json()
    assert body["success"] is False and body.get("field") in ("body", "batch", "message", "properties")


@pytest.mark.parametrize("path", ("/api/v1/leads/a@example.com", "/api/v1/accounts/example.com"))
def test_read_api_ignores_a_hostile_body_and_asks_for_a_token(client, path):
    response = client.generic("GET", path, nested(DEPTH), content_type="application/json")
    assert response.status_code == 401
