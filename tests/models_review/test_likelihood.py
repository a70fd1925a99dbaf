"""The nightly likelihood (§11): chunk jobs by id range, the probability and its factors on
every lead, in the read API and the lead list."""

import math

import pytest

from leads.ingest.credentials import api_token_create
from leads.models import Event, Lead, OutboxJob
from models_review import jobs
from models_review.learning.services import CHUNK_JOB, likelihood_refresh, likelihood_score_now
from models_review.models import LearningRun
from tests.conftest import day
from tests.factories import LeadFactory
from tests.models_review.learning_data import labelled_history

pytestmark = pytest.mark.django_db

AS_OF = day(400)


def _run_chunks():
    for row in OutboxJob.objects.filter(func_path=CHUNK_JOB).order_by("id"):
        jobs.likelihood_chunk(**row.kwargs)


@pytest.fixture
def scored(spec_model):
    labelled_history(300, seed=4)
    # Two leads active in the 90 days before AS_OF: three forms, and three careers-page views.
    keen, browsing = LeadFactory(email="keen@example.com"), LeadFactory(email="jobs@example.com")
    Event.objects.bulk_create(
        [Event(lead=keen, type="form_submit", occurred_at=day(390 - n)) for n in range(3)]
        + [
            Event(lead=browsing, type="page_view", url=u, asset_key=u, occurred_at=day(390 - n))
            for n, u in enumerate(["https://x.example/careers/jobs"] * 3)
        ]
    )
    run = likelihood_refresh(as_of=AS_OF, chunk_size=100)
    _run_chunks()
    run.refresh_from_db()
    return run, keen, browsing


def test_likelihood_refresh_queues_one_chunk_job_per_id_range(scored):
    run, *_ = scored
    first, last = Lead.objects.order_by("id").first().pk, Lead.objects.order_by("id").last().pk
    chunks = OutboxJob.objects.filter(func_path=CHUNK_JOB).order_by("id")
    assert chunks.count() == math.ceil((last - first + 1) / 100) == run.likelihood_chunks == 4
    assert [(c.kwargs["first_id"], c.kwargs["last_id"]) for c in chunks][:2] == [
        (first, first + 99),
        (first + 100, first + 199),
    ]
    assert run.likelihood_chunks_done == 4
    assert not Lead.objects.filter(likelihood__isnull=True).exists()


def test_likelihood_score_now_writes_what_the_chunk_jobs_wrote(scored):
    by_jobs = list(Lead.objects.order_by("pk").values_list("pk", "likelihood", "likelihood_factors"))
    Lead.objects.update(likelihood=None, likelihood_factors=[])
    assert likelihood_score_now(as_of=AS_OF, chunk_size=70) == len(by_jobs)
    assert list(Lead.objects.order_by("pk").values_list("pk", "likelihood", "likelihood_factors")) == by_jobs


def test_likelihood_follows_the_learned_weights_and_names_the_top_factors(scored):
    run, keen, browsing = scored
    keen.refresh_from_db()
    browsing.refresh_from_db()
    form_key = next(f["key"] for f in run.features if f["rule"] == {"event_type": "form_submit"})
    expected = 1 / (1 + math.exp(-(run.intercept + 3 * run.coefficients[form_key])))
    assert keen.likelihood == pytest.approx(expected, abs=1e-6)
    assert keen.likelihood > browsing.likelihood
    assert [f["feature"] for f in keen.likelihood_factors] == ["form_submit"]
    assert keen.likelihood_factors[0]["amount"] == 3 and keen.likelihood_factors[0]["percentage_points"] > 0
    assert browsing.likelihood_factors[0]["feature"] == "page_view */careers*"
    assert browsing.likelihood_factors[0]["percentage_points"] < 0
    # Labelled leads' events were all before day 180, outside the last 90 days: the base rate.
    base = 1 / (1 + math.exp(-run.intercept))
    quiet = Lead.objects.filter(email__startswith="learn").first()
    assert quiet.likelihood == pytest.approx(base, abs=1e-6) and quiet.likelihood_factors == []


def test_likelihood_chunk_run_twice_writes_the_same(scored):
    run, keen, _ = scored
    before = list(Lead.objects.order_by("id").values_list("likelihood", "likelihood_factors"))
    _run_chunks()
    assert list(Lead.objects.order_by("id").values_list("likelihood", "likelihood_factors")) == before


def test_likelihood_in_the_read_api_and_the_lead_list(client, marketer, scored):
    run, keen, browsing = scored
    keen.refresh_from_db()
    token = api_token_create(username=marketer.username)[1]
    body = client.get("/api/v1/leads/keen@example.com", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert body["likelihood"] == keen.likelihood and body["likelihood_factors"] == keen.likelihood_factors
    client.force_login(marketer)
    listing = client.get("/leads/?sort=-likelihood", HTTP_HX_REQUEST="true").content.decode()
    assert listing.index(f">{keen.display_name}<") < listing.index("learn4-")
    threshold = round(100 * keen.likelihood) - 1
    only_keen = client.get(f"/leads/?likelihood_min={threshold}", HTTP_HX_REQUEST="true").content.decode()
    assert f">{keen.display_name}<" in only_keen and f">{browsing.display_name}<" not in only_keen
    bad = client.get("/leads/?likelihood_min=150", HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "likelihood_min" in bad.content.decode()


def test_likelihood_refresh_below_forty_labels_scores_nothing(spec_model):
    labelled_history(30, seed=9)
    assert likelihood_refresh(as_of=AS_OF) is None
    assert LearningRun.objects.get().status == LearningRun.Status.TOO_FEW_LABELS
    assert not OutboxJob.objects.filter(func_path=CHUNK_JOB).exists()
    assert not Lead.objects.filter(likelihood__isnull=False).exists()
