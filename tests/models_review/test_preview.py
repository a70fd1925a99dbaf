from datetime import timedelta

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from leads.engine import scoring
from leads.ingest.assets import AssetCatalog
from leads.ingest.events import NewEvent, events_ingest
from leads.models import Lead
from leads.services import engine_inputs, lead_events, spec_for
from models_review import jobs, services
from models_review.learning.labels import Label, held_out, holdout_boundary
from models_review.models import LearningRun, OutcomeLabel, PreviewRun
from scoring_site.queueing import outbox_sweep, queue
from tests.factories import LeadFactory
from tests.redis_fixtures import DOWN_QUEUES, run_worker

pytestmark = pytest.mark.django_db

NOW = timezone.now().replace(microsecond=0)


def _events(lead, *types, hours_ago=5):
    events_ingest(
        events=[
            NewEvent(
                type=kind,
                occurred_at=NOW - timedelta(hours=hours_ago - index),
                lead_id=lead.pk,
                properties={"percent": 100} if kind == "video_play" else {},
            )
            for index, kind in enumerate(types)
        ]
    )


def _draft_raising_form_submit(active, points):
    draft = services.draft_copy(source=active)
    form_rule = draft.rules.get(event_type="form_submit")
    services.draft_rule_save(
        version=draft, rule={"event_type": "form_submit", "points": points}, rule_id=form_rule.pk
    )
    return draft


@pytest.fixture
def history(spec_model):
    """Under SPEC §2a (form 25, full video 20) against T = 100, and with form submits at 30:
    near = 3 forms + video = 95 → 110 (crosses); far = 2 forms + video = 70 → 80;
    ready = 4 forms = 100 → 120 (already ready); quiet has no events."""
    leads = {name: LeadFactory(name=name) for name in ("near", "far", "ready", "quiet")}
    _events(leads["near"], "form_submit", "form_submit", "form_submit", "video_play")
    _events(leads["far"], "form_submit", "form_submit", "video_play")
    _events(leads["ready"], "form_submit", "form_submit", "form_submit", "form_submit")
    return leads


def _run_preview(draft):
    run = services.preview_request(draft=draft)
    PreviewRun.objects.filter(pk=run.pk).update(as_of=NOW)
    jobs.preview_run(run.pk)  # the job function itself, as the worker would call it
    run.refresh_from_db()
    return run


def _replayed_score(lead, version):
    inputs = engine_inputs(list(lead_events(lead)), AssetCatalog.load())
    return scoring.replay(inputs, spec_for(version) if version.is_published else version.spec(), as_of=NOW)[
        0
    ].sales.score


def test_preview_lists_exactly_the_leads_that_cross_t(spec_model, history):
    draft = _draft_raising_form_submit(spec_model, 30)
    run = _run_preview(draft)
    assert run.status == "done" and run.done == run.total == 4
    crossing = {
        lead.pk
        for lead in Lead.objects.all()
        if _replayed_score(lead, draft) >= 100 > _replayed_score(lead, spec_model)
    }
    assert crossing == {history["near"].pk}
    assert {row["id"] for row in run.result["gains"]} == crossing
    assert run.result["gain_count"] == 1 and run.result["loss_count"] == 0
    assert run.result["gains"][0]["active"] == 95 and run.result["gains"][0]["draft"] == 110
    assert run.result["sales_ready"] == {"active": 1, "draft": 2}


def test_preview_counts_stages_and_score_bands_under_each_version(spec_model, history):
    run = _run_preview(_draft_raising_form_submit(spec_model, 30))
    # live: quiet 0 → stage 1; far 70 → stage 3 (≥ 67); near 95 → stage 3; ready 100 → sales-ready
    assert run.result["stages"]["active"] == {"1": 1, "3": 2, "4": 1}
    # draft: far 80 → stage 3; near 110 and ready 120 → sales-ready
    assert run.result["stages"]["draft"] == {"1": 1, "3": 1, "4": 2}
    # bands of 20 points: 0 → band 0; 70 → band 3; 95 → band 4; 100 → band 5
    assert run.result["buckets"]["active"] == [1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    assert run.result["buckets"]["draft"] == [1, 0, 0, 0, 1, 1, 1, 0, 0, 0, 0]


def test_preview_lowering_a_rule_lists_leads_that_lose_sales_ready(spec_model, history):
    run = _run_preview(_draft_raising_form_submit(spec_model, 20))
    assert [row["id"] for row in run.result["losses"]] == [history["ready"].pk]
    assert run.result["gains"] == []


def test_preview_agreement_with_sales_feedback_per_version(spec_model, history, rep):
    def verdict(name, really, outcome=""):
        services.feedback_record(
            lead=history[name], rep=rep, changes={"really_sales_ready": really, "outcome": outcome}
        )

    verdict("near", True, "opportunity")
    verdict("ready", True, "won")
    verdict("far", False, "lost")
    run = _run_preview(_draft_raising_form_submit(spec_model, 30))
    live, draft = run.result["agreement"]["active"], run.result["agreement"]["draft"]
    # live marks only "ready": 1 of the 2 yes leads, none of the no leads
    assert (live["marked_of_yes"], live["judged_yes"], live["precision"], live["recall"]) == (1, 2, 1.0, 0.5)
    # the draft also marks "near": both yes leads
    assert (draft["marked_of_yes"], draft["precision"], draft["recall"]) == (2, 1.0, 1.0)
    assert (live["marked_of_opportunities"], live["opportunities"], live["outcome_recall"]) == (1, 2, 0.5)
    assert draft["outcome_recall"] == 1.0 and draft["outcome_precision"] == 1.0


def test_preview_of_a_published_version_is_refused(spec_model):
    with pytest.raises(services.DraftError, match="status"):
        services.preview_request(draft=spec_model)


def test_preview_page_polls_until_done_then_shows_the_lists(client, marketer, spec_model, history):
    run = _run_preview(_draft_raising_form_submit(spec_model, 30))
    client.force_login(marketer)
    page = client.get(reverse("models_review:preview", args=[run.pk])).content.decode()
    assert 'id="gain-count">1<' in page and "near" in page and "hx-trigger" not in page
    queued = PreviewRun.objects.create(
        draft=run.draft, baseline=spec_model, total=10, done=4, status="running"
    )
    fragment = client.get(
        reverse("models_review:preview", args=[queued.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'data-percent="40"' in fragment and 'hx-trigger="every 1s"' in fragment and "<html" not in fragment


@pytest.mark.django_db(transaction=True)
def test_preview_runs_in_a_real_worker_with_an_hour_to_finish(rq_redis, spec_model, history):
    draft = _draft_raising_form_submit(spec_model, 30)
    with transaction.atomic():
        run = services.preview_request(draft=draft)
        assert queue("default").count == 0  # not before the commit: the worker must see the run
    [job] = queue("default").jobs
    assert (job.func_name, job.kwargs) == ("models_review.jobs.preview_run", {"run_id": run.pk})
    assert job.timeout == 3600  # an hour, not the "default" queue's 600 seconds
    run_worker(rq_redis, "default")
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert [row["id"] for row in run.result["gains"]] == [history["near"].pk]


@pytest.mark.django_db(transaction=True)
def test_preview_requested_while_redis_is_down_waits_then_runs_once_it_is_back(
    rq_redis, settings, client, marketer, spec_model, history
):
    live = settings.RQ_QUEUES
    settings.RQ_QUEUES = DOWN_QUEUES
    draft = _draft_raising_form_submit(spec_model, 30)
    client.force_login(marketer)
    response = client.post(reverse("models_review:preview_start", args=[draft.pk]))
    run = PreviewRun.objects.get()
    assert response.url == reverse("models_review:preview", args=[run.pk])
    assert (run.status, run.error) == ("queued", "")
    page = " ".join(client.get(response.url).content.decode().split())  # template line breaks aside
    assert "The preview is queued and will start when the background workers are back" in page
    assert 'hx-trigger="every 1s"' in page  # the page keeps polling and fills in on its own

    settings.RQ_QUEUES = live
    assert outbox_sweep() == 1
    run_worker(rq_redis, "default")
    run.refresh_from_db()
    assert run.status == "done", run.error
    assert [row["id"] for row in run.result["gains"]] == [history["near"].pk]
    page = client.get(response.url).content.decode()
    assert 'id="gain-count">1<' in page and "preview-waiting" not in page


def test_distribution_chart_data_is_live_next_to_draft(client, marketer, rep, spec_model, history):
    run = _run_preview(_draft_raising_form_submit(spec_model, 30))
    client.force_login(marketer)
    data = client.get(reverse("models_review:preview_chart", args=[run.pk])).json()
    assert data["labels"][:2] == ["0–20", "20–40"] and data["labels"][-1] == "200 and more"
    assert [d["label"] for d in data["datasets"]] == ["Live v1", "Draft v2"]
    assert data["datasets"][0]["data"] == [1, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    client.force_login(rep)
    assert client.get(reverse("models_review:preview_chart", args=[run.pk])).status_code == 403


def _label(lead, positive, hours_ago):
    OutcomeLabel.objects.create(
        lead=lead, really_sales_ready=positive, at=NOW - timedelta(hours=hours_ago), key=f"test-{lead.pk}"
    )


def _suggested_by_a_learning_run(draft, *, holdout_from):
    LearningRun.objects.create(
        status=LearningRun.Status.DONE,
        draft=draft,
        result={"holdout_from": holdout_boundary(holdout_from), "train_size": 2, "holdout": {"size": 2}},
    )


def test_preview_of_a_suggested_draft_judges_both_versions_on_the_held_out_labels_only(
    client, marketer, spec_model, history
):
    # Oldest first: ready (positive) and far (negative) trained; near (positive) and quiet
    # (negative) are the holdout, which starts at near's label.
    _label(history["ready"], True, 4)
    _label(history["far"], False, 3)
    _label(history["near"], True, 2)
    _label(history["quiet"], False, 1)
    draft = _draft_raising_form_submit(spec_model, 30)
    first_held_out = Label(history["near"].pk, NOW - timedelta(hours=2), True)
    _suggested_by_a_learning_run(draft, holdout_from=first_held_out)

    run = _run_preview(draft)

    # live: near 95 and quiet 0, neither marked; draft: near 110 marked, quiet 0 not.
    judged = run.result["holdout"]
    assert judged["active"] == {
        "positive": 1,
        "negative": 1,
        "marked_of_positive": 0,
        "marked_of_negative": 0,
        "labels": 2,
        "precision": None,
        "recall": 0.0,
        "accuracy": 0.5,
    }
    assert (judged["draft"]["precision"], judged["draft"]["recall"], judged["draft"]["accuracy"]) == (
        1.0,
        1.0,
        1.0,
    )
    client.force_login(marketer)
    page = client.get(reverse("models_review:preview", args=[run.pk])).content.decode()
    assert "on those 2 labels only (1 positive" in page
    assert 'id="holdout"' in page


def test_preview_of_a_hand_made_draft_has_no_holdout_section(client, marketer, spec_model, history):
    _label(history["near"], True, 2)
    run = _run_preview(_draft_raising_form_submit(spec_model, 30))
    assert run.result["holdout"]["draft"]["labels"] == 0
    client.force_login(marketer)
    page = client.get(reverse("models_review:preview", args=[run.pk])).content.decode()
    assert "holdout-agreement" not in page


def test_a_label_is_held_out_from_the_boundary_on_in_label_order():
    at = NOW - timedelta(days=1)
    boundary = holdout_boundary(Label(5, at, True))
    assert held_out(Label(5, at, False), boundary)  # the first held-out label itself
    assert not held_out(Label(4, at, True), boundary)  # same instant, earlier in training's order
    assert held_out(Label(1, at + timedelta(seconds=1), True), boundary)  # later: never trained on
    assert not held_out(Label(9, at - timedelta(seconds=1), True), boundary)
