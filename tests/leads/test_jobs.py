"""Every job through a real RQ worker against real Redis, and called directly twice."""

import pytest
from django.contrib.auth.models import Group
from django.core import mail

from leads.background import jobs
from leads.background.report import SUBSCRIBERS_GROUP
from leads.ingest.events import NewEvent, events_ingest
from leads.models import Account, JobRun, Lead, Qualification, StageSnapshot, WebhookDelivery, WebhookEndpoint
from scoring_site.queueing import enqueue_or_outbox, queue
from scoring_site.schedule import PERIODIC
from tests.conftest import day
from tests.factories import AccountFactory, LeadFactory, MarketerFactory, RepFactory
from tests.redis_fixtures import run_worker


def lead_table():
    return list(
        Lead.objects.order_by("pk").values_list(
            "pk", "score", "scored_at", "stage", "is_cold", "is_qualified", "owner"
        )
    )


def history(spec_model):
    account = AccountFactory()
    hot, fading = LeadFactory(account=account), LeadFactory(account=account)
    events_ingest(
        events=[
            NewEvent(type="custom", name="Trial Started", occurred_at=day(0), lead_id=fading.pk),
            NewEvent(type="form_submit", occurred_at=day(0), lead_id=fading.pk),
            NewEvent(type="form_submit", occurred_at=day(1), lead_id=fading.pk),
            NewEvent(type="form_submit", occurred_at=day(1), lead_id=fading.pk),
            NewEvent(type="custom", name="Trial Started", occurred_at=day(55), lead_id=hot.pk),
            NewEvent(type="form_submit", occurred_at=day(56), lead_id=hot.pk),
            NewEvent(type="form_submit", occurred_at=day(57), lead_id=hot.pk),
            NewEvent(type="form_submit", occurred_at=day(58), lead_id=hot.pk),
        ],
        now=day(58),
    )
    return hot, fading, account


def at(n):
    return day(n).isoformat()


@pytest.mark.django_db(transaction=True)
def test_every_periodic_job_runs_in_a_real_worker(spec_model, rq_redis):
    hot, fading, account = history(spec_model)
    RepFactory(username="rep1")
    MarketerFactory(username="ann").groups.add(Group.objects.get_or_create(name=SUBSCRIBERS_GROUP)[0])
    calls = {
        "decay": dict(at=at(60)),
        "cold leads": dict(at=at(60)),
        "qualification": dict(at=at(60)),
        "account roll-up": dict(at=at(60)),
        "stage snapshot": dict(day="2026-03-02"),
        "daily report": dict(at=at(60)),
        "webhook retries": dict(at=at(60)),
        "outbox sweep": {},
        "recalculation watchdog": dict(at=at(60)),
        "dashboard warm-up": {},
        "survey invitations": {},
        "NPS housekeeping": {},
        "CRM push": {},
        "CRM pull": {},
    }
    for name, job, _cron, queue_name in PERIODIC:  # one at a time, in the schedule's order of the day
        enqueue_or_outbox(queue_name, job, **calls[name])
        run_worker(rq_redis, queue_name)
    assert all(queue(name).failed_job_registry.count == 0 for name in ("default", "low"))
    recorded = dict(JobRun.objects.values_list("name", "status"))
    assert {name: recorded.get(name) for name in calls if name != "outbox sweep"} == {
        name: "ok" for name in calls if name != "outbox sweep"
    }

    fading.refresh_from_db()
    hot.refresh_from_db()
    assert fading.score == pytest.approx(105 * 0.9**5)  # ticks at days 31, 38, 45, 52, 59
    assert fading.stage == 2 and fading.is_cold and not fading.is_qualified
    assert hot.is_qualified and hot.owner.username == "rep1"
    assert Account.objects.get(pk=account.pk).score == pytest.approx(hot.score + fading.score)
    assert StageSnapshot.objects.filter(day="2026-03-02").count() == 7
    assert [m.to for m in mail.outbox if "daily report" in m.subject] == [["ann@example.com"]]


@pytest.mark.django_db(transaction=True)
def test_qualification_webhook_is_delivered_by_a_worker(spec_model, rq_redis):
    WebhookEndpoint.objects.create(name="Dead end", url="http://127.0.0.1:9/", secret="k")
    LeadFactory(score=140)
    queue("default").enqueue(jobs.qualification_evaluate, at=at(1))
    run_worker(rq_redis)  # qualifies, then the delivery job it queued on commit runs too
    delivery = WebhookDelivery.objects.get()
    assert delivery.attempts == 1 and delivery.status == "pending" and delivery.last_error


@pytest.mark.django_db
def test_jobs_called_twice_for_one_instant_change_nothing_the_second_time(spec_model):
    history(spec_model)
    RepFactory()
    for job in (
        jobs.decay_materialise,
        jobs.cold_detect,
        jobs.qualification_evaluate,
        jobs.accounts_rollup_all,
    ):
        job(at=at(70))
    first = lead_table(), list(Account.objects.values_list("score", "member_count", "is_sales_ready"))
    qualified = Qualification.objects.count()
    for job in (
        jobs.decay_materialise,
        jobs.cold_detect,
        jobs.qualification_evaluate,
        jobs.accounts_rollup_all,
    ):
        job(at=at(70))
    assert (
        lead_table(),
        list(Account.objects.values_list("score", "member_count", "is_sales_ready")),
    ) == first
    assert Qualification.objects.count() == qualified
    jobs.stage_snapshot(day="2026-03-12")
    jobs.stage_snapshot(day="2026-03-12")
    assert StageSnapshot.objects.count() == 7
