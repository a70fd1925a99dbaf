"""The Suggestions page, `manage.py model_suggest` and the draft made from a suggestion (§11)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from leads.models import OutboxJob
from models_review import jobs
from models_review.learning.services import TRAIN_JOB, learning_train
from models_review.models import LearningRun, ModelVersion
from tests.conftest import day
from tests.models_review.learning_data import labelled_history

pytestmark = pytest.mark.django_db


@pytest.fixture
def learned(spec_model):
    labelled_history(500, seed=11)
    return learning_train(as_of=day(400))


@pytest.fixture
def few_labels(spec_model):
    labelled_history(50, seed=5, positive_share=0.2)


def _command(*args):
    out = StringIO()
    call_command("model_suggest", *args, stdout=out)
    return out.getvalue()


def test_suggestions_page_shows_metrics_rules_and_the_draft_button(client, marketer, learned):
    client.force_login(marketer)
    page = client.get(reverse("models_review:suggestions")).content.decode()
    holdout = learned.result["holdout"]
    assert f'id="labels-positive">{learned.positives}<' in page
    assert f'id="holdout-auc">{holdout["auc"]:.3f}<' in page
    assert "Create a draft from this suggestion" in page
    assert "<code>form_submit</code>" in page and "<code>page_view */careers*</code>" in page
    assert "median lead sales rated positive" in page


def test_suggestions_page_below_forty_says_so_and_shows_the_tally(client, marketer, few_labels):
    run = learning_train(as_of=day(400))
    client.force_login(marketer)
    page = client.get(reverse("models_review:suggestions")).content.decode()
    assert f"Not enough labels to learn from: {run.positives} positive and {run.negatives} negative" in page
    assert 'id="tally-table"' in page and "Tally calibration" in page
    assert "Create a draft from this suggestion" not in page


def test_model_suggest_command_below_forty_says_so_and_shows_the_tally(few_labels):
    text = _command()
    assert "Not enough labels to learn from" in text and "Tally calibration (T = 100" in text
    document = json.loads(_command("--json"))
    assert document["enough_labels"] is False
    assert document["labels"]["positive"] + document["labels"]["negative"] == 50
    assert document["tally_calibration"]["sales_ready_score"] == 100


def test_model_suggest_json_has_the_issue_keys_and_draft_writes_a_version(spec_model):
    labelled_history(500, seed=11)
    document = json.loads(_command("--json", "--draft"))
    assert set(document["labels"]) == {"positive", "negative"}
    assert {"auc", "lift_top_decile", "calibration"} <= set(document["holdout"])
    form = next(row for row in document["rules"] if row["event_type"] == "form_submit")
    assert (form["points"], form["label"]) == (25, "form_submit")
    careers = next(row for row in document["rules"] if row.get("url_pattern") == "*/careers*")
    assert careers["suggested_points"] < 0
    draft = ModelVersion.objects.get(number=document["draft_version"])
    assert draft.status == ModelVersion.Status.DRAFT
    assert draft.rules.get(event_type="form_submit").points == form["suggested_points"]


def test_suggestion_draft_has_the_suggested_points_and_a_note_from_the_evidence(client, marketer, learned):
    client.force_login(marketer)
    response = client.post(reverse("models_review:suggestion_draft", args=[learned.pk]))
    draft = ModelVersion.objects.get(status=ModelVersion.Status.DRAFT)
    assert response.status_code == 302 and response.url == reverse("models_review:version", args=[draft.pk])
    suggested = [row["suggested_points"] for row in learned.result["rules"]]
    assert [rule.points for rule in draft.rules.all()] == suggested
    holdout = learned.result["holdout"]
    assert f"from {learned.positives} positive and {learned.negatives} negative sales labels" in draft.note
    assert f"AUC {holdout['auc']:.2f}" in draft.note and "form_submit: 25 →" in draft.note
    assert ModelVersion.objects.get(is_active=True).rules.get(event_type="form_submit").points == 25
    learned.refresh_from_db()
    assert learned.draft == draft


def test_suggestion_start_queues_the_run_and_the_job_learns(client, marketer, spec_model):
    labelled_history(200, seed=2)
    client.force_login(marketer)
    response = client.post(reverse("models_review:suggestion_start"))
    run = LearningRun.objects.get()
    assert response.url == f"{reverse('models_review:suggestions')}?run={run.pk}"
    assert OutboxJob.objects.get(reference=f"learning:{run.pk}").func_path == TRAIN_JOB
    queued = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in queued and "Queued" in queued
    jobs.learning_run(run.pk)
    run.refresh_from_db()
    assert run.status == LearningRun.Status.DONE and run.done == run.total == 200
    finished = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
    assert "every 1s" not in finished and 'id="rule-suggestions"' in finished


def test_suggestion_charts_give_one_point_per_holdout_decile(client, marketer, learned):
    client.force_login(marketer)
    calibration = client.get(reverse("models_review:suggestion_calibration_chart", args=[learned.pk])).json()
    lift = client.get(reverse("models_review:suggestion_lift_chart", args=[learned.pk])).json()
    table = learned.result["holdout"]["calibration"]
    assert len(calibration["labels"]) == len(table) == 10
    assert calibration["datasets"][1]["data"] == [round(100 * row["observed"], 1) for row in table]
    overall = learned.result["holdout"]["positives"] / learned.result["holdout"]["size"]
    assert lift["datasets"][0]["data"][-1] == round(table[-1]["observed"] / overall, 3)
