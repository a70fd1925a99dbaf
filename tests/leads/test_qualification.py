import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail

from leads.background.qualification import qualification_evaluate, webhook_deliver, webhooks_retry_due
from leads.models import Lead, Qualification, WebhookDelivery, WebhookEndpoint
from models_review.models import ModelVersion
from tests.conftest import day
from tests.factories import AccountFactory, LeadFactory, RepFactory

pytestmark = pytest.mark.django_db


class Receiver:
    """A local HTTP endpoint that fails the first `failures` posts, then answers 200."""

    def __init__(self, failures=0):
        self.failures, self.received = failures, []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                status = 503 if len(receiver.received) <= receiver.failures else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def close(self):
        self.server.shutdown()


@pytest.fixture
def receiver():
    instances = []

    def make(failures=0):
        instances.append(Receiver(failures))
        return instances[-1]

    yield make
    for instance in instances:
        instance.close()


def test_qualification_assigns_account_owner_else_round_robin_and_emails_reps(
    spec_model, django_capture_on_commit_callbacks
):
    owner = RepFactory(username="owner")
    RepFactory(username="rep_a")
    RepFactory(username="rep_b")
    account = AccountFactory(owner=owner)
    with_owner = LeadFactory(account=account, score=120)
    loose = [LeadFactory(score=100 + i) for i in range(3)]
    LeadFactory(score=99.9)  # just below T = 100
    with django_capture_on_commit_callbacks(execute=True):  # the reps are emailed once the hand-off commits
        assert qualification_evaluate(now=day(10)) == (4, 0)
    assigned = {q.lead_id: (q.rep.username, q.assigned_by) for q in Qualification.objects.all()}
    assert assigned[with_owner.pk] == ("owner", "account owner")
    # Reps in id order, continuing round the circle: owner, rep_a, rep_b.
    assert [assigned[lead.pk] for lead in loose] == [
        ("owner", "round-robin"),
        ("rep_a", "round-robin"),
        ("rep_b", "round-robin"),
    ]
    assert set(Lead.objects.filter(is_qualified=True).values_list("owner__username", flat=True)) == {
        "owner",
        "rep_a",
        "rep_b",
    }
    assert Qualification.objects.filter(at=day(10), version=spec_model).count() == 4
    assert qualification_evaluate(now=day(11)) == (0, 0)  # nobody qualifies twice for one rise
    mail.outbox.sort(key=lambda m: m.to[0])
    assert [m.to for m in mail.outbox] == [
        ["owner@example.com"],
        ["rep_a@example.com"],
        ["rep_b@example.com"],
    ]
    assert mail.outbox[0].subject == "2 new sales-ready leads for you"
    assert with_owner.name in mail.outbox[0].body and f"/leads/{with_owner.pk}/" in mail.outbox[0].body
    assert mail.outbox[0].alternatives[0][1] == "text/html"


def test_round_robin_continues_after_the_last_assignment(spec_model):
    RepFactory(username="r1"), RepFactory(username="r2")
    LeadFactory(score=100)
    qualification_evaluate(now=day(1))
    LeadFactory(score=100)
    qualification_evaluate(now=day(2))
    assert list(Qualification.objects.order_by("at").values_list("rep__username", flat=True)) == ["r1", "r2"]


def test_qualification_rearms_after_a_drop_and_logs_each_rise(spec_model):
    lead = LeadFactory(score=110)
    qualification_evaluate(now=day(1))
    Lead.objects.filter(pk=lead.pk).update(score=80)
    assert qualification_evaluate(now=day(2)) == (0, 1)
    Lead.objects.filter(pk=lead.pk).update(score=105)
    assert qualification_evaluate(now=day(3)) == (1, 0)
    assert list(Qualification.objects.filter(lead=lead).order_by("at").values_list("at", "score")) == [
        (day(1), 110),
        (day(3), 105),
    ]


def test_qualification_filters_of_the_version_narrow_the_criteria(spec_model):
    from django.db import IntegrityError, transaction

    from models_review.services import version_import, version_publish
    from tests.conftest import SPEC_MODEL

    # Filters are part of a version: set on a draft, frozen once published.
    draft = version_import(data=SPEC_MODEL)
    ModelVersion.objects.filter(pk=draft.pk).update(qualification_filters={"qualified": "0", "q": "vip"})
    version_publish(version=draft)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersion.objects.filter(pk=draft.pk).update(qualification_filters={})
    LeadFactory(score=120, email="vip@example.com")
    LeadFactory(score=120, email="other@example.com")
    assert qualification_evaluate(now=day(1)) == (1, 0)
    assert Qualification.objects.get().lead.email == "vip@example.com"


def test_webhook_is_signed_with_hmac_and_logged(spec_model, receiver):
    hook = receiver()
    WebhookEndpoint.objects.create(name="CRM", url=hook.url, secret="s3cret")
    lead = LeadFactory(score=130, email="ada@example.com")
    qualification_evaluate(now=day(1))
    delivery = WebhookDelivery.objects.get()
    assert webhook_deliver(delivery_id=delivery.pk, now=day(1)) == "delivered (200)"
    headers, body = hook.received[0]
    expected = "sha256=" + hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Leadscore-Signature"] == expected
    payload = json.loads(body)
    assert payload["event"] == "lead.qualified" and payload["lead"]["email"] == "ada@example.com"
    assert payload["score"] == 130 and payload["lead"]["id"] == lead.pk
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 1, 200)
    assert webhook_deliver(delivery_id=delivery.pk) == "nothing to do"  # delivered once only


def test_webhook_failures_back_off_exponentially_then_deliver(spec_model, receiver):
    hook = receiver(failures=2)
    WebhookEndpoint.objects.create(name="CRM", url=hook.url, secret="k")
    LeadFactory(score=130)
    qualification_evaluate(now=day(1))
    delivery = WebhookDelivery.objects.get()
    webhook_deliver(delivery_id=delivery.pk, now=day(1))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("pending", 1, "HTTP 503")
    assert delivery.next_attempt_at == day(1) + timedelta(seconds=30)
    assert webhooks_retry_due(now=day(1) + timedelta(seconds=29)) == 0  # not yet due
    assert webhooks_retry_due(now=day(1) + timedelta(seconds=30)) == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at == day(1) + timedelta(seconds=30 + 60)  # doubled
    assert webhooks_retry_due(now=day(1) + timedelta(seconds=90)) == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, len(hook.received)) == ("delivered", 3, 3)


def test_webhook_gives_up_after_six_attempts(spec_model):
    WebhookEndpoint.objects.create(name="Gone", url="http://127.0.0.1:9/nothing-listens", secret="k")
    LeadFactory(score=130)
    qualification_evaluate(now=day(1))
    delivery = WebhookDelivery.objects.get()
    for _ in range(6):
        webhook_deliver(delivery_id=delivery.pk, now=day(1))
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 6, None)
    assert delivery.last_error
