"""Generated labelled histories where the truth is known, for the learning tests.

Each lead does 0–3 form submits (the truth: strongly positive), 0–3 full video plays (noise)
and 0–3 careers-page views (negative); its label is drawn from the true logistic model
log-odds = −1 + 1.2·forms − 1.2·careers. Labels arrive an hour apart, events in the 60 days
before each label."""

import hashlib
import math
import random
from datetime import timedelta

from leads.models import Event, Lead
from models_review.models import OutcomeLabel
from tests.conftest import day

TRUE_INTERCEPT, TRUE_FORM, TRUE_CAREERS = -1.0, 1.2, -1.2


def true_probability(forms: int, careers: int) -> float:
    return 1 / (1 + math.exp(-(TRUE_INTERCEPT + TRUE_FORM * forms + TRUE_CAREERS * careers)))


def _activity(rng, lead, forms: int, videos: int, careers: int, *, before, within_days: int) -> list[Event]:
    """The lead's forms, full videos and careers-page views, each on a random day within
    `within_days` days before `before`."""
    activity = (
        [("form_submit", "", "", {})] * forms
        + [("video_play", f"video-{k}", "", {"percent": 100}) for k in range(videos)]
        + [("page_view", "", "https://x.example/careers/jobs", {})] * careers
    )
    return [
        Event(
            lead=lead,
            type=kind,
            asset_key=asset or (url if kind == "page_view" else ""),
            url=url,
            properties=properties,
            occurred_at=before - timedelta(days=1 + rng.randint(0, within_days - 1), minutes=index),
        )
        for index, (kind, asset, url, properties) in enumerate(activity)
    ]


def labelled_history(count: int, *, seed: int = 7, first_label=None, positive_share=None):
    """Leads with events and outcome labels; returns [(lead_id, label_at, positive, true p)]
    oldest label first. `positive_share` overrides the truth (for the below-40 tests)."""
    rng = random.Random(seed)
    first_label = first_label or day(120)
    leads = Lead.objects.bulk_create([Lead(email=f"learn{seed}-{n}@example.com") for n in range(count)])
    events, labels, truth = [], [], []
    for n, lead in enumerate(leads):
        label_at = first_label + timedelta(hours=n)
        forms, videos, careers = rng.randint(0, 3), rng.randint(0, 3), rng.randint(0, 3)
        events += _activity(rng, lead, forms, videos, careers, before=label_at, within_days=60)
        probability = true_probability(forms, careers)
        positive = rng.random() < (probability if positive_share is None else positive_share)
        labels.append(
            OutcomeLabel(
                lead=lead,
                outcome="won" if positive else "lost",
                at=label_at,
                key=hashlib.sha256(f"{seed}:{n}".encode()).hexdigest(),
            )
        )
        truth.append((lead.pk, label_at, positive, probability))
    Event.objects.bulk_create(events)
    OutcomeLabel.objects.bulk_create(labels)
    return truth


def judged_recently(count: int, *, rep, now, seed: int = 21):
    """Leads with the same known truth, active in the 20 days before `now`, judged by `rep`
    in the app ("really sales-ready?") just now: what the preview's agreement reads."""
    from models_review.models import SalesFeedback

    rng = random.Random(seed)
    leads = Lead.objects.bulk_create([Lead(email=f"judged{seed}-{n}@example.com") for n in range(count)])
    events, feedback = [], []
    for lead in leads:
        forms, videos, careers = rng.randint(0, 4), rng.randint(0, 4), rng.randint(0, 3)
        events += _activity(rng, lead, forms, videos, careers, before=now, within_days=20)
        positive = rng.random() < 1 / (1 + math.exp(-(-2.5 + 1.2 * forms - 1.2 * careers)))
        feedback.append(SalesFeedback(lead=lead, rep=rep, really_sales_ready=positive))
    Event.objects.bulk_create(events)
    SalesFeedback.objects.bulk_create(feedback)
