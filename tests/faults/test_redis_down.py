"""With Redis stopped, tracking still stores and scores events and
every page renders (with a notice where the page needs the job queue); nothing answers 500.

`redis_down` points every queue at a unix socket nobody listens on."""

import base64

import pytest
from django.urls import reverse

from leads.ingest import credentials, rate_limit
from leads.models import Event, Lead, OutboxJob
from models_review.models import ModelVersion, RecalculationRun
from models_review.services import draft_copy

pytestmark = pytest.mark.django_db(transaction=True)


def basic(secret: str) -> dict:
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{secret}:".encode()).decode()}


def test_tracking_stores_and_scores_events_while_redis_is_down(client, spec_model, redis_down):
    rate_limit.reset()
    _, secret = credentials.write_key_create(name="Website")
    batch = [
        {"type": "track", "userId": "u-1", "messageId": f"m-{n}", "event": "Form Submitted"} for n in range(3)
    ]
    response = client.post(
        "/api/v1/batch", {"batch": batch}, content_type="application/json", **basic(secret)
    )
    single = client.post(
        "/api/v1/track",
        {"userId": "u-1", "messageId": "m-3", "event": "Trial Started"},
        content_type="application/json",
        **basic(secret),
    )
    # Segment's clients expect 200 {"success": true}; the API answers the same with Redis down.
    assert (response.status_code, response.json()) == (200, {"success": True})
    assert (single.status_code, single.json()) == (200, {"success": True})
    assert Event.objects.filter(lead__user_id="u-1").count() == 4
    assert Lead.objects.get(user_id="u-1").score == 3 * 25 + 30


def test_pages_render_with_a_notice_while_redis_is_down(client, spec_model, marketer, redis_down):
    client.post("/api/v1/track", {}, content_type="application/json")  # no write key: 401, not a crash
    lead = Lead.objects.create(email="ada@example.com", score=42)
    client.force_login(marketer)
    pages = {
        "home": reverse("home"),
        "dashboard": reverse("leads:dashboard"),
        "lead list": reverse("leads:list"),
        "lead page": reverse("leads:detail", args=[lead.pk]),
        "status": reverse("leads:status"),
        "model versions": reverse("models_review:versions"),
        "accounts": reverse("leads:accounts"),
        "segments": reverse("leads:segments"),
        "feedback": reverse("models_review:feedback"),
        "health": reverse("health"),
    }
    answers = {name: client.get(url).status_code for name, url in pages.items()}
    assert answers == dict.fromkeys(pages, 200)
    assert "The job queue (Redis) is not reachable" in client.get(reverse("leads:status")).content.decode()


def test_publishing_while_redis_is_down_queues_the_recalculation_with_a_notice(
    client, spec_model, marketer, redis_down
):
    Lead.objects.create(email="ada@example.com")
    draft = draft_copy(source=spec_model)
    ModelVersion.objects.filter(pk=draft.pk).update(note="Forms matter more")
    client.force_login(marketer)
    response = client.post(reverse("models_review:version_publish", args=[draft.pk]), follow=True)
    assert response.status_code == 200, response.redirect_chain
    assert "will start when the background workers are back" in response.content.decode()
    run = RecalculationRun.objects.get(version=draft)
    assert run.status == "queued"
    assert OutboxJob.objects.filter(reference=f"recalculation:{run.pk}", sent_at__isnull=True).count() == 1
