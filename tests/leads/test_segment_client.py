"""Acceptance: Segment's own Python library talks to the live server unchanged (§10)."""

from datetime import timedelta

import pytest
from django.utils import timezone
from segment.analytics import Client
from segment.analytics import request as segment_request
from segment.analytics.request import post as segment_post

from leads.ingest.credentials import api_token_create, write_key_create
from leads.models import Account, Event, Lead
from tests.factories import AssetFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def segment(live_server, spec_model):
    key = write_key_create(name="Website")[1]
    errors = []
    client = Client(
        key,
        host=f"{live_server.url}/api",
        sync_mode=True,
        gzip=True,
        max_retries=0,
        on_error=lambda error, batch: errors.append(error),
    )
    yield client, key, f"{live_server.url}/api"
    # The library keeps one HTTP session for the process; a kept-alive connection would
    # keep a live-server thread, and its database session, open past the test.
    segment_request._session.close()
    assert errors == []


def test_identify_group_page_track_then_a_batch_of_500(segment):
    client, key, host = segment
    now = timezone.now().replace(microsecond=0)
    AssetFactory(key="https://initech.example/pricing", sales_ready=True)

    client.identify(
        "u1", {"email": "ana@initech.example", "name": "Ana Silva", "title": "CTO"}, anonymous_id="anon-1"
    )
    client.group("u1", "g-1", {"name": "Initech", "domain": "initech.example"})
    client.page(
        "u1",
        name="Pricing",
        properties={"url": "https://initech.example/pricing"},
        timestamp=now - timedelta(hours=3),
    )
    client.track(
        "u1",
        "Form Submitted",
        {"form_id": "contact"},
        timestamp=now - timedelta(hours=2),
        message_id="form-1",
    )
    client.track(
        "u1",
        "Form Submitted",
        {"form_id": "contact"},
        timestamp=now - timedelta(hours=2),
        message_id="form-1",
    )
    client.track("u1", "Trial Started", timestamp=now - timedelta(hours=1))
    ana = Lead.objects.get(user_id="u1")
    # page 5 + form 25 (sent twice, same messageId: once) + trial 30 = 60 → Stage 2 (33–66)
    assert (ana.email, ana.name, ana.score, ana.stage) == ("ana@initech.example", "Ana Silva", 60, 2)
    assert ana.account.domain == "initech.example" and ana.account.score == 60

    # Back-filled history: 4 forms 60 days ago = 100, then ticks at +30, +37, +44, +51, +58 days.
    builder = Client(key, send=False)
    old = now - timedelta(days=60)
    messages = [
        builder.track("u2", "Form Submitted", {"form_id": f"f{n}"}, timestamp=old + timedelta(minutes=n))[1]
        for n in range(4)
    ]
    for n in range(64 + 48):
        user, at = f"bulk-{n}", now - timedelta(minutes=30) + timedelta(seconds=n)
        if n < 64:  # 4 forms = 100 → sales-ready
            messages += [
                builder.track(user, "Form Submitted", {"form_id": f"f{k}"}, timestamp=at)[1] for k in range(4)
            ]
        else:  # 2 forms + 25 %, 50 %, then 37.5 % of one video (20 × 50 % = 10) = 60 → Stage 2
            messages += [
                builder.track(user, "Form Submitted", {"form_id": "f"}, timestamp=at)[1] for _ in range(2)
            ]
            messages += [
                builder.track(
                    user,
                    "Video Content Playing",
                    {"content_asset_id": "demo-video", "position": p, "total_length": 120},
                    timestamp=at,
                )[1]
                for p in (30, 60, 45)
            ]
    assert len(messages) == 500
    response = segment_post(key, host, gzip=True, batch=messages)
    assert response.json() == {"success": True}

    assert Event.objects.filter(source="Website").count() == 3 + 500
    bulk = Lead.objects.filter(user_id__startswith="bulk-")
    assert sorted(set(bulk.values_list("score", "stage"))) == [(60, 2), (100, 4)]
    assert bulk.filter(stage=4).count() == 64 and bulk.filter(stage=2).count() == 48

    token = api_token_create(username="marketer")[1]
    import requests

    u2 = Lead.objects.get(user_id="u2")
    assert (u2.score, u2.stage) == (100, 4)  # stored as of its last event; the API shows it now
    Lead.objects.filter(pk=u2.pk).update(email="u2@example.com")
    body = requests.get(
        f"{host}/v1/leads/u2@example.com", headers={"Authorization": f"Bearer {token}"}, timeout=10
    ).json()
    assert body["score"] == pytest.approx(100 * 0.9**5)  # 59.049
    assert Account.objects.get(domain="initech.example").member_count == 1
