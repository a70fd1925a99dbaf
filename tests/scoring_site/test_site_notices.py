"""Site-wide guards: the Redis-down notice on every signed-in page, and the RQ dashboard that
only admins may act in."""

import pytest

from scoring_site import context_processors
from scoring_site.queueing import enqueue_or_outbox, queue

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_ping():
    context_processors._last_ping.clear()
    yield
    context_processors._last_ping.clear()


@pytest.mark.parametrize("url", ["/", "/leads/", "/leads/segments/", "/model/", "/surveys/"])
def test_every_page_shows_the_redis_notice_while_redis_is_down(client, marketer, spec_model, redis_down, url):
    client.force_login(marketer)
    response = client.get(url)
    assert response.status_code == 200 and 'id="redis-down"' in response.content.decode()


def test_no_redis_notice_while_redis_answers(client, marketer, spec_model, rq_redis):
    client.force_login(marketer)
    assert 'id="redis-down"' not in client.get("/").content.decode()


def test_public_pages_do_not_ping_redis(client, redis_down):
    assert 'id="redis-down"' not in client.get("/signin/").content.decode()
    assert context_processors._last_ping == {}


def low_queue_index() -> int:
    from django_rq.queues import get_queue_by_index

    return next(index for index in range(3) if get_queue_by_index(index).name == "low")


def queued_jobs(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        enqueue_or_outbox("low", "leads.background.jobs.outbox_sweep")
    return queue("low").count


def test_marketer_sees_the_rq_dashboard_but_cannot_empty_a_queue(
    client, marketer, rq_redis, django_capture_on_commit_callbacks
):

    marketer.is_staff = True
    marketer.save()
    assert queued_jobs(django_capture_on_commit_callbacks) == 1
    client.force_login(marketer)
    assert client.get("/admin/rq/").status_code == 200
    index = low_queue_index()
    assert client.post(f"/admin/rq/queues/{index}/empty/").status_code == 403
    assert queue("low").count == 1


def test_admin_can_empty_a_queue(admin_client, rq_redis, django_capture_on_commit_callbacks):

    assert queued_jobs(django_capture_on_commit_callbacks) == 1
    index = low_queue_index()
    assert admin_client.post(f"/admin/rq/queues/{index}/empty/").status_code in (200, 302)
    assert queue("low").count == 0
