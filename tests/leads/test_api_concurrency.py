"""Concurrent batches over the same leads, with retried messages crossing between them:
each message is stored once, nothing deadlocks, and every score is the SPEC sum."""

import json
import threading
from datetime import timedelta

import pytest
import requests
from django.utils import timezone

from leads.ingest.credentials import write_key_create
from leads.models import Event, Lead

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_concurrent_overlapping_batches_store_each_message_once(live_server, spec_model):
    key = write_key_create(name="Website")[1]
    start = timezone.now() - timedelta(hours=1)
    # 20 leads × 10 forms; every client sends every message (as retries after a timeout
    # would), in its own order, so the same leads and messageIds race across transactions.
    messages = [
        {
            "type": "track",
            "userId": f"u{n % 20}",
            "event": "Form Submitted",
            "messageId": f"m{n}",
            "timestamp": (start + timedelta(seconds=n)).isoformat(),
        }
        for n in range(200)
    ]
    failures = []

    def client(offset):
        ordered = messages[offset:] + messages[:offset]
        for chunk in range(0, 200, 50):
            body = json.dumps({"batch": ordered[chunk : chunk + 50]})
            response = requests.post(
                f"{live_server.url}/api/v1/batch",
                data=body,
                auth=(key, ""),
                timeout=60,
                headers={"Content-Type": "application/json"},
            )
            if response.status_code != 200:
                failures.append(response.text)

    threads = [threading.Thread(target=client, args=(offset,)) for offset in (0, 50, 100, 150)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert Event.objects.count() == 200
    scores = set(Lead.objects.values_list("score", "stage"))
    assert scores == {(250, 4)}  # 10 forms × 25 each; replays put late arrivals in order
