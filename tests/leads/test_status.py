import pytest
from django.urls import reverse
from django.utils import timezone

from leads.background.jobruns import recorded
from leads.models import JobRun, OutboxJob

pytestmark = pytest.mark.django_db


def test_status_page_lists_every_periodic_job_with_last_and_next_run(client, marketer, rq_redis):
    JobRun.objects.create(name="decay", status="ok", started_at=timezone.now(), result="12 leads decayed")
    JobRun.objects.create(
        name="daily report", status="failed", started_at=timezone.now(), error="SMTPException: relay refused"
    )
    client.force_login(marketer)
    page = client.get(reverse("leads:status")).content.decode()
    for name in (
        "Decay",
        "Cold leads",
        "Qualification",
        "Account roll-up",
        "Stage snapshot",
        "Daily report",
        "Outbox sweep",
    ):
        assert name in page
    assert "12 leads decayed" in page and "SMTPException: relay refused" in page
    assert "never" in page  # jobs that have not run yet say so
    assert "/leads/settings/failed-jobs/" in page and "/admin/" not in page and "recalc" in page
    assert "not reachable" not in page


def test_status_page_renders_with_a_notice_when_redis_is_down(client, marketer, redis_down):
    OutboxJob.objects.create(queue_name="recalc", func_path="models_review.jobs.recalculation_run")
    client.force_login(marketer)
    response = client.get(reverse("leads:status"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "The job queue (Redis) is not reachable" in page and "1 job waiting" in page


def test_status_page_is_for_marketers(client, rep):
    client.force_login(rep)
    assert client.get(reverse("leads:status")).status_code == 403


def test_recorded_job_stores_result_and_failure():
    @recorded("example")
    def works():
        return "3 things"

    @recorded("example")
    def breaks():
        raise ValueError("bad input")

    works()
    with pytest.raises(ValueError):
        breaks()
    runs = list(JobRun.objects.order_by("id").values_list("status", "result"))
    assert runs == [("ok", "3 things"), ("failed", "")]
    assert "ValueError: bad input" in JobRun.objects.order_by("id").last().error
