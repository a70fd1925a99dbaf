"""The demo's sales history (§7, §11): reps answer most handed-over leads through the real
feedback service, outcomes follow the personas, and a second load adds nothing."""

import random

import pytest
from django.utils import timezone

from leads.demo import load_demo_data
from leads.engine import scoring
from leads.models import CsvImport, Lead, StageChange, Tag
from models_review.demo import TYPICAL_SHARE, _answer, yes_chance
from models_review.learning.labels import label_value
from models_review.models import Review, SalesFeedback


def _positive_rate(persona: str, draws: int = 2000) -> float:
    rng = random.Random(1)
    answers = [_answer(rng, persona, TYPICAL_SHARE) for _ in range(draws)]
    positives = [label_value(a["really_sales_ready"], a.get("outcome", "")) for a in answers]
    return sum(1 for p in positives if p) / draws


def test_demo_answer_converts_hot_leads_more_often_than_cold_and_job_seekers_never():
    rates = {persona: _positive_rate(persona) for persona in ("hot", "warm", "cooling", "cold", "job_seeker")}
    # Odds in models_review/demo.py: hot says yes 80 %, 15 % of those lost → about 0.8 × 0.85 = 68 %;
    # cold 15 % yes, half lost → about 7.5 %.
    assert rates["hot"] == pytest.approx(0.68, abs=0.04)
    assert rates["cold"] == pytest.approx(0.075, abs=0.03)
    assert rates["hot"] > rates["warm"] > rates["cooling"] > rates["cold"] > rates["job_seeker"] == 0
    rng = random.Random(2)
    assert {_answer(rng, "job_seeker", 0.9)["reason"] for _ in range(50)} == {"job_seeker"}
    assert {_answer(rng, "student", 0.9)["really_sales_ready"] for _ in range(50)} == {False}


def test_demo_rep_says_yes_more_often_to_leads_whose_activity_is_mostly_buying_actions():
    # The persona's odds at the typical share of 50 %, moved one for one by the share around it,
    # kept between 5 % and 95 %.
    assert yes_chance("hot", 0.5) == pytest.approx(0.8)
    assert yes_chance("hot", 0.2) == pytest.approx(0.5)
    assert yes_chance("hot", 0.8) == 0.95
    assert yes_chance("warm", 0.6) == pytest.approx(0.65)
    assert yes_chance("cold", 0.0) == 0.05
    assert yes_chance("job_seeker", 1.0) == 0.0


@pytest.mark.django_db
def test_load_demo_data_records_feedback_on_handed_over_leads_and_is_idempotent(spec_model):
    now = timezone.now()
    load_demo_data(leads=300, accounts=20, now=now)
    feedback = SalesFeedback.objects.select_related("lead")
    handed = Lead.objects.filter(is_qualified=True, owner__isnull=False).count()
    assert handed and feedback.count() >= handed * 0.6  # "most": 85 % on average
    for answer in feedback:
        # Given by the lead's own rep, on a lead handed to sales, under the active version.
        assert (
            answer.rep_id == answer.lead.owner_id
            and answer.lead.is_qualified
            and answer.version == spec_model
        )
        expected_stage = {"opportunity": scoring.OPPORTUNITY, "won": scoring.CUSTOMER}.get(answer.outcome)
        if expected_stage:
            assert answer.lead.stage == expected_stage
        if answer.reason == "competitor":
            assert answer.lead.stage == scoring.DISQUALIFIED
            assert StageChange.objects.filter(
                lead=answer.lead, to_stage=scoring.DISQUALIFIED, note__endswith="Works for a competitor"
            ).exists()
    assert set(Tag.objects.values_list("name", flat=True)) >= {
        "target-account",
        "event-2026",
        "careers-visitor",
    }
    assert (
        CsvImport.objects.filter(file_name="trade-show-2026.csv", status=CsvImport.Status.IMPORTED).count()
        == 1
    )
    assert Review.objects.count() == 1
    before = (SalesFeedback.objects.count(), Lead.objects.count(), StageChange.objects.count())
    load_demo_data(leads=300, accounts=20, now=now)
    assert (SalesFeedback.objects.count(), Lead.objects.count(), StageChange.objects.count()) == before
    assert Review.objects.count() == 1 and CsvImport.objects.count() == 1
