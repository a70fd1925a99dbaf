"""NPS arithmetic (SPEC §8), pure: promoters 9–10, passives 7–8, detractors 0–6,
NPS = %promoters − %detractors, from −100 to 100. No answers is "no data", not zero."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PROMOTER_MIN, PASSIVE_MIN = 9, 7
SCORES = tuple(range(11))


def nps_group(score: int) -> str:
    if score >= PROMOTER_MIN:
        return "promoter"
    return "passive" if score >= PASSIVE_MIN else "detractor"


@dataclass(frozen=True)
class NpsSummary:
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def has_data(self) -> bool:
        return self.total > 0

    @property
    def nps(self) -> float | None:
        """None when nobody answered: an NPS of 0 would claim a balance nobody expressed."""
        if not self.total:
            return None
        return 100.0 * (self.promoters - self.detractors) / self.total

    def percent(self, group: str) -> float | None:
        if not self.total:
            return None
        return 100.0 * getattr(self, group + "s") / self.total

    @property
    def promoter_percent(self):
        return self.percent("promoter")

    @property
    def passive_percent(self):
        return self.percent("passive")

    @property
    def detractor_percent(self):
        return self.percent("detractor")

    @property
    def label(self) -> str:
        return "no data" if self.nps is None else f"{self.nps:+.0f}"


def summarize(scores: Iterable[int]) -> NpsSummary:
    counts = {"promoter": 0, "passive": 0, "detractor": 0}
    for score in scores:
        counts[nps_group(score)] += 1
    return NpsSummary(counts["promoter"], counts["passive"], counts["detractor"])


def summary_from_distribution(distribution: dict[int, int]) -> NpsSummary:
    """The same summary from counts per score (what a GROUP BY returns)."""
    counts = {"promoter": 0, "passive": 0, "detractor": 0}
    for score, count in distribution.items():
        counts[nps_group(score)] += count
    return NpsSummary(counts["promoter"], counts["passive"], counts["detractor"])


def parse_score(raw) -> int:
    """A form's score: a whole number 0–10 written as digits. Raises ValueError with a
    sentence for the person (11, -1, 7.5 and empty are all refused)."""
    text = str(raw if raw is not None else "").strip()
    if not text:
        raise ValueError("Please choose a score from 0 to 10.")
    if not text.isdigit() or not text.isascii():
        raise ValueError("The score must be a whole number from 0 to 10.")
    score = int(text)
    if score not in SCORES:
        raise ValueError("The score must be from 0 to 10.")
    return score
