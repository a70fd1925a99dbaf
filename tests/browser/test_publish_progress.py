"""Publish → recalculation progress (the contract with the workers issue, #4).

`version_publish` starts `models_review.recalculation.recalculation_request(version=, by=)`,
which returns a RecalculationRun; the publish view then redirects to
`models_review:recalculation` (args=[run.pk]), whose `#recalc-progress[data-percent]`
htmx keeps current."""

import pytest
from django.conf import settings

from leads.ingest.events import NewEvent, events_ingest
from models_review import services
from models_review.models import ModelVersion
from tests.browser.conftest import sign_in
from tests.factories import LeadFactory
from tests.rq_support import rq_queue  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_marketer_publishes_and_watches_the_progress_bar_reach_100(page, marketer, spec_model, rq_queue):  # noqa: F811
    import django_rq
    from django.utils import timezone
    from rq import SimpleWorker

    for index in range(3):
        lead = LeadFactory(name=f"Lead {index}")
        events_ingest(events=[NewEvent(type="form_submit", occurred_at=timezone.now(), lead_id=lead.pk)])
    draft = services.draft_copy(source=spec_model, by=marketer)
    rule = draft.rules.get(event_type="form_submit")
    services.draft_rule_save(version=draft, rule={"event_type": "form_submit", "points": 40}, rule_id=rule.pk)
    ModelVersion.objects.filter(pk=draft.pk).update(note="Forms show buying intent")

    sign_in(page, "marketer")
    page.goto(f"/model/versions/{draft.pk}/")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("#publish")
    page.wait_for_url("**/model/recalculations/*/")
    # A bar at 0 % has no width, so wait for it in the page rather than for it to be visible.
    page.wait_for_selector("#recalc-progress", state="attached")
    queues = [django_rq.get_queue(name) for name in settings.RQ_QUEUES]
    SimpleWorker(queues, connection=rq_queue.connection).work(burst=True)
    page.wait_for_selector("#recalc-progress[data-percent='100']", timeout=30_000)
    assert ModelVersion.objects.get(is_active=True).pk == draft.pk
