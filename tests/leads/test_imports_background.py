"""Large CSV files are checked and imported by a worker; the page shows a progress bar."""

import pytest

from leads.background import jobs
from leads.ingest import imports
from leads.ingest.imports import csv_check, csv_decode, csv_import
from leads.models import CsvImport, Event, OutboxJob
from tests.leads.test_imports import events_csv, upload
from tests.rq_support import rq_queue  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_threshold(monkeypatch):
    """The 1,000-row file of test_imports counts as large (above 100 lines)."""
    monkeypatch.setattr(imports, "BACKGROUND_ROWS", 100)


def _job(func_path: str) -> OutboxJob:
    return OutboxJob.objects.get(func_path=func_path)


def test_large_upload_is_checked_by_a_job_with_the_same_error_report(
    client, spec_model, marketer, small_threshold
):
    client.force_login(marketer)
    response = upload(client, "events", events_csv())
    row = CsvImport.objects.get()
    assert response.status_code == 302 and row.status == "checking" and row.errors == []
    job = _job("leads.background.jobs.csv_upload_check")
    assert job.kwargs == {"upload_id": row.pk} and job.queue_name == "default"
    page = client.get(f"/leads/imports/{row.pk}/").content.decode()
    assert 'id="import-progress"' in page and "Checking the file" in page and 'id="valid-rows"' not in page
    fragment = client.get(f"/leads/imports/{row.pk}/", HTTP_HX_REQUEST="true")
    assert "<html" not in fragment.content.decode() and 'data-status="checking"' in fragment.content.decode()

    jobs.csv_upload_check(upload_id=row.pk)

    row.refresh_from_db()
    in_request = csv_check(kind="events", text=csv_decode(events_csv()))
    assert (row.status, row.total_rows, row.valid_rows) == ("previewed", 1000, 993)
    assert row.errors == in_request.errors  # line, field and reason exactly as the small-file path
    assert client.get(f"/leads/imports/{row.pk}/", HTTP_HX_REQUEST="true")["HX-Refresh"] == "true"
    page = client.get(f"/leads/imports/{row.pk}/").content.decode()
    assert 'id="valid-rows">993<' in page and 'id="error-rows">7<' in page
    assert "great call," in page and '<td class="num">803</td>' in page
    assert not Event.objects.exists()


def test_large_import_runs_in_a_job_and_reports_like_a_small_one(
    client, spec_model, marketer, small_threshold
):
    client.force_login(marketer)
    upload(client, "events", events_csv())
    row = CsvImport.objects.get()
    jobs.csv_upload_check(upload_id=row.pk)
    client.post(f"/leads/imports/{row.pk}/import")
    row.refresh_from_db()
    assert row.status == "importing" and not Event.objects.exists()
    assert _job("leads.background.jobs.csv_upload_import").kwargs == {"upload_id": row.pk}
    page = client.get(f"/leads/imports/{row.pk}/").content.decode()
    assert "Importing" in page and 'data-percent="0"' in page
    again = client.post(f"/leads/imports/{row.pk}/import", follow=True).content.decode()
    assert "cannot be imported now: it is importing" in again

    jobs.csv_upload_import(upload_id=row.pk)

    row.refresh_from_db()
    assert (row.status, row.imported_rows, row.progress_rows, row.content) == ("imported", 993, 993, "")
    assert len(row.errors) == 7 and Event.objects.count() == 993
    page = client.get(f"/leads/imports/{row.pk}/").content.decode()
    assert 'id="imported-rows">993<' in page and 'id="error-rows">7<' in page
    jobs.csv_upload_import(upload_id=row.pk)  # a job taken twice stores nothing twice
    assert Event.objects.count() == 993


def test_csv_check_and_import_report_progress_per_chunk(spec_model, monkeypatch):
    monkeypatch.setattr(imports, "CHUNK_ROWS", 300)
    checked_lines, imported_rows = [], []
    checked = csv_check(kind="events", text=csv_decode(events_csv()), on_progress=checked_lines.append)
    csv_import(checked=checked, on_progress=imported_rows.append)
    # Lines 300, 600, 900 reached (header is line 1, so 299, 599, 899 data lines read before them).
    assert checked_lines == [299, 599, 899]
    assert imported_rows == [300, 600, 900, 993]


def test_large_upload_missing_a_column_is_refused_at_once(client, spec_model, marketer, small_threshold):
    client.force_login(marketer)
    data = ("email,when\n" + "".join(f"a{i}@example.com,today\n" for i in range(200))).encode()
    response = upload(client, "events", data)
    assert response.status_code == 200 and "must name the column" in response.content.decode()
    assert not CsvImport.objects.exists() and not OutboxJob.objects.exists()


def test_large_upload_with_redis_down_says_queued_and_loses_nothing(
    client, spec_model, marketer, small_threshold, redis_down, django_capture_on_commit_callbacks
):
    client.force_login(marketer)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, "events", events_csv())
    row = CsvImport.objects.get()
    page = client.get(f"/leads/imports/{row.pk}/").content.decode()
    assert "workers are not reachable right now" in page
    assert _job("leads.background.jobs.csv_upload_check").sent_at is None
    jobs.csv_upload_check(upload_id=row.pk)  # what the outbox sweep runs once Redis is back
    row.refresh_from_db()
    assert row.status == "previewed" and row.valid_rows == 993


def test_small_upload_stays_in_the_request(client, spec_model, marketer):
    client.force_login(marketer)
    upload(client, "events", events_csv())
    row = CsvImport.objects.get()
    assert row.status == "previewed" and row.valid_rows == 993 and not OutboxJob.objects.exists()
    assert row.preview["header"] == ["email", "type", "timestamp", "name", "points", "reason"]


def _rq_job(queue, func_path: str):
    from rq.job import Job

    return Job.fetch(f"outbox-{_job(func_path).pk}", connection=queue.connection)


@pytest.mark.django_db(transaction=True)
def test_import_whose_worker_failed_midway_goes_back_to_import_and_finishes_without_duplicates(
    client,
    spec_model,
    marketer,
    small_threshold,
    monkeypatch,
    rq_queue,  # noqa: F811
):
    from rq.job import JobStatus

    client.force_login(marketer)
    upload(client, "events", events_csv())
    row = CsvImport.objects.get()
    jobs.csv_upload_check(upload_id=row.pk)
    client.post(f"/leads/imports/{row.pk}/import")
    # The worker takes the job and dies after its first chunk of 300 rows: that chunk is in.
    monkeypatch.setattr(imports, "CHUNK_ROWS", 300)

    def die_after_first_chunk(rows):
        CsvImport.objects.filter(pk=row.pk).update(progress_rows=rows)
        raise SystemExit("worker killed")

    progress_writer = imports._progress_writer
    monkeypatch.setattr(imports, "_progress_writer", lambda upload_id: die_after_first_chunk)
    with pytest.raises(SystemExit):
        jobs.csv_upload_import(upload_id=row.pk)
    assert Event.objects.count() == 300
    page = client.get(f"/leads/imports/{row.pk}/").content.decode()
    assert "Importing" in page  # the job is still "queued" as far as RQ knows: no verdict yet

    _rq_job(rq_queue, "leads.background.jobs.csv_upload_import").set_status(JobStatus.FAILED)
    page = client.get(f"/leads/imports/{row.pk}/").content.decode()

    row.refresh_from_db()
    assert row.status == "previewed"
    assert "The import stopped after 300 of 993 rows: the background worker stopped before the end" in page
    assert 'id="import-button"' in page
    monkeypatch.setattr(imports, "_progress_writer", progress_writer)
    client.post(f"/leads/imports/{row.pk}/import")
    jobs.csv_upload_import(upload_id=row.pk)
    row.refresh_from_db()
    assert (row.status, row.imported_rows, row.failure) == ("imported", 693, "")
    assert Event.objects.count() == 993  # the 300 rows already in were not stored twice


@pytest.mark.django_db(transaction=True)
def test_check_whose_job_was_lost_with_redis_fails_with_the_reason(
    client,
    spec_model,
    marketer,
    small_threshold,
    rq_queue,  # noqa: F811
):
    client.force_login(marketer)
    upload(client, "events", events_csv())
    row = CsvImport.objects.get()
    assert "Checking the file" in client.get(f"/leads/imports/{row.pk}/").content.decode()
    _rq_job(rq_queue, "leads.background.jobs.csv_upload_check").delete()  # Redis restarted empty
    page = client.get(f"/leads/imports/{row.pk}/").content.decode()
    row.refresh_from_db()
    assert row.status == "failed"
    assert "The check of this file stopped: its background job is no longer in the queue" in page
