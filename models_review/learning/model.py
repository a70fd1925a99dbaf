"""The regularised logistic regression of §11 and its holdout measures.

Fitted on the older 80 % of labels (by label instant) and measured on the newest 20 %, so
the figures say how it does on judgements it has not seen, later in time, as it will be used.
Features are standardised before the L2 penalty (so the penalty treats a rare and a common
activity alike), and the weights are turned back into log-odds per unit afterwards. The penalty's
strength is chosen by 5-fold cross-validation inside the training part (AUC): with a few
hundred labels and dozens of candidate activities a fixed, weak penalty fits noise ("blog post
14 is worth 36 points"); the holdout is never looked at while choosing."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

LABEL_MINIMUM = 40  # of each class, as Dynamics 365 asks
HOLDOUT_SHARE = 0.2
# sklearn's inverse L2 strength on standardised features, the candidates cross-validation
# picks from: from a strong penalty (few labels, many activities) to nearly none.
REGULARISATION_CS = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
FOLDS = 5
DECILES = 10


@dataclass
class Fit:
    keys: list[str]
    intercept: float  # log-odds with no activity at all
    weights: dict[str, float]  # log-odds per unit of each feature
    holdout: dict
    train_size: int
    holdout_size: int
    regularisation_c: float


def matrix(rows: list[dict[str, float]], keys: list[str]) -> np.ndarray:
    values = np.zeros((len(rows), len(keys)))
    column = {key: index for index, key in enumerate(keys)}
    for row_index, units in enumerate(rows):
        for key, amount in units.items():
            if key in column:
                values[row_index, column[key]] = amount
    return values


def split_by_time(count: int) -> int:
    """How many of `count` labels (sorted oldest first) train; the rest are the holdout."""
    return count - max(1, round(count * HOLDOUT_SHARE))


def fit(rows: list[dict[str, float]], positives: list[bool], keys: list[str]) -> Fit:
    """`rows` and `positives` sorted by label instant, oldest first."""
    x, y = matrix(rows, keys), np.array(positives, dtype=int)
    cut = split_by_time(len(rows))
    x_train, y_train = x[:cut], y[:cut]
    mean, scale = x_train.mean(axis=0), x_train.std(axis=0)
    scale[scale == 0] = 1.0  # an activity nobody in training did gets weight 0 either way
    regression = _regression(y_train)
    regression.fit((x_train - mean) / scale, y_train)
    chosen_c = float(np.atleast_1d(regression.C_)[0]) if hasattr(regression, "C_") else regression.C
    per_unit = regression.coef_[0] / scale
    intercept = float(regression.intercept_[0] - (per_unit * mean).sum())
    weights = {key: float(value) for key, value in zip(keys, per_unit)}
    predicted = probabilities(x[cut:], intercept, np.array([weights[k] for k in keys]))
    return Fit(keys, intercept, weights, holdout_measures(y[cut:], predicted), cut, len(rows) - cut, chosen_c)


def _regression(y_train: np.ndarray):
    """Cross-validated when every fold can hold both classes, else the middle candidate."""
    smallest_class = int(min(y_train.sum(), len(y_train) - y_train.sum()))
    if smallest_class < FOLDS:
        return LogisticRegression(C=REGULARISATION_CS[len(REGULARISATION_CS) // 2], max_iter=2000)
    return LogisticRegressionCV(
        Cs=list(REGULARISATION_CS),
        cv=StratifiedKFold(FOLDS, shuffle=True, random_state=0),
        scoring="roc_auc",
        max_iter=2000,
        l1_ratios=(0.0,),  # plain L2
        use_legacy_attributes=False,
    )


def probabilities(x: np.ndarray, intercept: float, weights: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-(intercept + x @ weights)))


def probability(units: dict[str, float], intercept: float, weights: dict[str, float]) -> float:
    log_odds = intercept + sum(weights.get(key, 0.0) * amount for key, amount in units.items())
    return 1.0 / (1.0 + math.exp(-max(-700.0, min(700.0, log_odds))))


def holdout_measures(observed: np.ndarray, predicted: np.ndarray) -> dict:
    both_classes = len(set(observed.tolist())) == 2
    return {
        "size": int(len(observed)),
        "positives": int(observed.sum()),
        "auc": round(float(roc_auc_score(observed, predicted)), 4) if both_classes else None,
        "lift_top_decile": lift_top_decile(observed, predicted),
        "calibration": calibration_table(observed, predicted),
    }


def _by_prediction(observed: np.ndarray, predicted: np.ndarray):
    # Highest prediction first; ties broken by position so the order is reproducible.
    order = np.lexsort((np.arange(len(predicted)), -predicted))
    return observed[order], predicted[order]


def lift_top_decile(observed: np.ndarray, predicted: np.ndarray) -> float | None:
    """Positive rate among the 10 % with the highest predictions over the overall positive rate."""
    if len(observed) == 0 or observed.sum() == 0:
        return None
    observed, _ = _by_prediction(observed, predicted)
    top = observed[: max(1, math.ceil(len(observed) / DECILES))]
    return round(float(top.mean() / observed.mean()), 3)


def calibration_table(observed: np.ndarray, predicted: np.ndarray) -> list[dict]:
    """Deciles of the holdout by prediction, lowest first: mean predicted vs observed rate."""
    observed, predicted = _by_prediction(observed, predicted)
    groups = zip(np.array_split(observed[::-1], DECILES), np.array_split(predicted[::-1], DECILES))
    return [
        {
            "decile": index + 1,
            "leads": int(len(seen)),
            "predicted": round(float(guessed.mean()), 4),
            "observed": round(float(seen.mean()), 4),
        }
        for index, (seen, guessed) in enumerate(groups)
        if len(seen)
    ]
