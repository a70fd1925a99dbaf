"""The likelihood of §11: the probability, from a validated run's model, that a lead reaches
a positive sales outcome (really sales-ready, opportunity or won) within 90 days, counting
what it did in the last 90 days, and the three activities that move it most.

It is the logistic regression's own probability: the run's calibration table shows, decile by
decile on the holdout, how close predicted and observed rates were."""

from __future__ import annotations

from dataclasses import dataclass

from models_review.learning.model import probability

FACTORS = 3


@dataclass(frozen=True)
class Scorer:
    intercept: float
    weights: dict[str, float]
    labels: dict[str, str]  # feature key → what a person reads ("form_submit", "custom Trial Started")

    @classmethod
    def for_run(cls, run) -> Scorer:
        return cls(
            intercept=run.intercept,
            weights=run.coefficients,
            labels={feature["key"]: feature["label"] for feature in run.features},
        )

    def score(self, units: dict[str, float]) -> tuple[float, list[dict]]:
        likely = probability(units, self.intercept, self.weights)
        return round(likely, 6), self.factors(units, likely)

    def factors(self, units: dict[str, float], likely: float) -> list[dict]:
        """The activities whose absence would change the probability most, with by how much
        (in percentage points), largest first."""
        effects = []
        for key, amount in units.items():
            weight = self.weights.get(key, 0.0)
            if not weight or not amount:
                continue
            without = probability({k: v for k, v in units.items() if k != key}, self.intercept, self.weights)
            effects.append(
                {
                    "feature": self.labels.get(key, key),
                    "amount": round(amount, 2),
                    "percentage_points": round(100 * (likely - without), 1),
                }
            )
        effects.sort(key=lambda effect: (-abs(effect["percentage_points"]), effect["feature"]))
        return [effect for effect in effects[:FACTORS] if effect["percentage_points"]]
