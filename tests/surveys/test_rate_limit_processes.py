"""The rate limit holds across web worker processes: three forked processes post at once."""
import multiprocessing
import os

import pytest
from django.db import connections
from django.urls import reverse

from surveys.models import Response
from tests.factories import SurveyFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def _post_many(url, count, results):
    from django.test import Client

    try:
        client = Client()
        statuses = [client.post(url, {"score": "10"}, REMOTE_ADDR="203.0.113.50").status_code for _ in range(count)]
        results.put(statuses)
    except BaseException as error:  # the parent reports it instead of waiting in vain
        results.put([repr(error)])
    finally:
        connections.close_all()
        os._exit(0)  # leave the parent's pytest session alone


def test_twenty_per_minute_holds_across_processes(spec_model):
    survey = SurveyFactory()
    url = reverse("surveys:public", args=[survey.public_token])
    connections.close_all()  # children open their own connections
    context = multiprocessing.get_context("fork")
    results = context.SimpleQueue()  # put() writes at once: the children leave with os._exit
    workers = [context.Process(target=_post_many, args=(url, 10, results)) for _ in range(3)]
    for worker in workers:
        worker.start()
    statuses = [status for _ in workers for status in results.get()]
    for worker in workers:
        worker.join(timeout=30)
    assert sorted(statuses).count(302) == 20
    assert sorted(statuses).count(429) == 10
    assert Response.objects.count() == 20
