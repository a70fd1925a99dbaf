"""A marketer learns from the reps' answers, reads the evidence and makes a draft in one click;
the preview then compares the draft with the live version on the same answers."""

import pytest
from django.utils import timezone

from models_review.models import ModelVersion
from tests.browser.conftest import sign_in
from tests.factories import RepFactory
from tests.models_review.learning_data import judged_recently
from tests.rq_support import rq_queue  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)
SHOTS = None  # a folder path keeps screenshots while developing


def _shot(page, name):
    if SHOTS:
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


def _work(queue):
    from rq import SimpleWorker

    SimpleWorker([queue], connection=queue.connection).work(burst=True)


def _percent(text):
    return float(text.strip().rstrip("%").strip())


def test_marketer_learns_from_outcomes_and_previews_the_suggested_draft(
    page,
    marketer,
    spec_model,
    rq_queue,  # noqa: F811
):
    judged_recently(400, rep=RepFactory(username="rep1"), now=timezone.now())
    sign_in(page, "marketer")
    page.click("nav >> text=Model")
    page.click("#suggestions-link")
    page.click("#learn-now")
    page.wait_for_selector("#learning-progress", state="attached")
    _work(rq_queue)
    page.wait_for_selector("#rule-suggestions")
    page.wait_for_selector("#chart-calibration[data-chart-state=drawn]")
    page.wait_for_selector("#chart-lift[data-chart-state=drawn]")
    _shot(page, "suggestions")
    assert float(page.inner_text("#holdout-auc")) > 0.6
    rows = {
        row.locator("td").nth(0).inner_text(): int(row.locator("td.suggested").inner_text())
        for row in page.locator("#rule-suggestions tbody tr").all()
    }
    assert rows["form_submit"] > rows["video_play"] > rows["page_view */careers*"]

    page.click("#make-draft")
    page.wait_for_selector("text=written from the suggestion")
    draft = ModelVersion.objects.get(status=ModelVersion.Status.DRAFT)
    assert "Suggested by learning run" in draft.note
    page.click("#preview")
    page.wait_for_selector("#preview-run")
    _work(rq_queue)
    page.wait_for_selector("#agreement")
    _shot(page, "preview")
    precision = page.locator("#agreement tr:has-text('Precision (marked leads')").locator("td.num")
    live, suggested = _percent(precision.nth(0).inner_text()), _percent(precision.nth(1).inner_text())
    assert suggested > live


def _holdout_figures(page, row_class):
    cells = page.locator(f"#holdout tr.{row_class} td.num")
    return _percent(cells.nth(0).inner_text()), _percent(cells.nth(1).inner_text())


@pytest.mark.slow  # the default demo (2,000 leads, its feedback and learning run) loads in ~20 s
def test_on_the_demo_the_suggested_draft_previews_better_than_live_on_labels_it_did_not_learn_from(
    page,
    rq_queue,  # noqa: F811
):
    from django.core.cache import cache

    from leads.demo import DEMO_PASSWORD, load_demo_data
    from leads.services import buying_roles_ensure
    from models_review.models import LearningRun, PreviewRun
    from models_review.services import ensure_default_model

    cache.clear()
    ensure_default_model()
    buying_roles_ensure()
    load_demo_data()  # what `make run` shows: 2,000 leads, 120 accounts, seed 42
    learned = LearningRun.objects.get(status=LearningRun.Status.DONE)

    sign_in(page, "marketer", DEMO_PASSWORD)
    page.click("nav >> text=Model")
    page.click("#suggestions-link")
    page.wait_for_selector("#rule-suggestions")
    page.click("#make-draft")
    page.wait_for_selector("text=written from the suggestion")
    page.click("#preview")
    page.wait_for_selector("#preview-run")
    _work(rq_queue)
    page.wait_for_selector("#holdout")
    _shot(page, "demo-preview-holdout")

    held_out = learned.result["holdout"]
    text = page.inner_text("#holdout-agreement")
    assert f"on those {held_out['size']} labels only ({held_out['positives']} positive" in text
    live, suggested = _holdout_figures(page, "holdout-precision")
    assert suggested > live
    # The page's percentages are the stored counts, rounded.
    counts = PreviewRun.objects.get().result["holdout"]
    for name, shown in (("active", live), ("draft", suggested)):
        marked = counts[name]["marked_of_positive"] + counts[name]["marked_of_negative"]
        assert shown == round(100 * counts[name]["marked_of_positive"] / marked)
