"""Learning from outcomes (§11) on generated histories with a known truth."""

from datetime import timedelta

import pytest
from sklearn.metrics import roc_auc_score

from leads.engine import scoring
from models_review.learning import features
from models_review.learning.model import split_by_time
from models_review.learning.services import learning_train
from models_review.models import LearningRun
from tests.conftest import day
from tests.models_review.learning_data import labelled_history

pytestmark = pytest.mark.django_db


def _rule(result, **identity):
    return next(row for row in result["rules"] if all(row.get(k) == v for k, v in identity.items()))


def test_learning_orders_suggested_points_by_the_true_effect_and_matches_the_true_auc(spec_model):
    truth = labelled_history(1000)
    run = learning_train(as_of=day(400))
    assert run.status == LearningRun.Status.DONE
    result = run.result
    assert result["labels"] == {
        "positive": sum(positive for _, _, positive, _ in truth),
        "negative": sum(not positive for _, _, positive, _ in truth),
    }
    form = _rule(result, event_type="form_submit")["suggested_points"]
    video = _rule(result, event_type="video_play")["suggested_points"]
    careers = _rule(result, event_type="page_view", url_pattern="*/careers*")["suggested_points"]
    assert form > video > careers
    assert form > 0 > careers
    holdout = truth[split_by_time(len(truth)) :]
    true_auc = roc_auc_score([p for _, _, p, _ in holdout], [q for _, _, _, q in holdout])
    assert result["holdout"]["size"] == len(holdout) == 200
    assert abs(result["holdout"]["auc"] - true_auc) <= 0.05
    assert result["holdout"]["lift_top_decile"] > 1
    assert sum(row["leads"] for row in result["holdout"]["calibration"]) == 200


def test_learning_scales_points_so_the_median_positive_lead_reaches_t(spec_model):
    labelled_history(400, seed=3)
    run = learning_train(as_of=day(400))
    weights, k = run.coefficients, run.result["scale"]
    form_key = next(f["key"] for f in run.features if f["rule"] == {"event_type": "form_submit"})
    assert _rule(run.result, event_type="form_submit")["suggested_points"] == round(weights[form_key] * k)
    assert "median lead sales rated positive" in run.result["scaling"]


def test_features_count_units_with_caps_video_percent_and_the_window():
    spec = features.unit_spec(
        scoring.ModelSpec(
            rules=(
                scoring.Rule("download", 10, max_per_day=2),
                scoring.Rule("video_play", 20),
            )
        )
    )
    until = day(100)

    def event(kind, when, **extra):
        return scoring.EventInput(occurred_at=when, type=kind, **extra)

    inputs = [
        event("download", day(5)),  # more than 90 days before: left out
        *[event("download", day(20) + timedelta(minutes=m)) for m in range(3)],  # cap 2 a day → 2
        event("download", day(21)),  # → 3
        event("video_play", day(30), asset_key="v1", percent=40),  # 0.4
        event("video_play", day(31), asset_key="v1", percent=100),  # +0.6
        event("video_play", day(32), asset_key="v1", percent=50),  # already watched: 0
        event("custom", day(40), name="Trial Started"),  # no rule: a candidate
        event("form_submit", day(100)),  # at the label instant: not before it
    ]
    units = features.lead_units(inputs, spec, until=until)
    keys = [f.key for f in features.rule_features(spec)]
    assert units == {keys[0]: 3.0, keys[1]: 1.0, "new:custom|event_name=Trial Started": 1.0}


def test_learning_below_forty_of_each_says_so_and_gives_the_tally(spec_model):
    labelled_history(60, seed=5, positive_share=0.3)
    run = learning_train(as_of=day(400))
    assert run.status == LearningRun.Status.TOO_FEW_LABELS
    positives, negatives = run.positives, run.negatives
    assert positives < 40 and positives + negatives == 60
    assert run.result["message"].startswith(f"Not enough labels to learn from: {positives} positive")
    assert run.result["tally_calibration"]["sales_ready_score"] == 100
