import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.ingest.events import NewEvent, events_ingest
from leads.models import Segment
from surveys import selectors
from surveys.models import Response
from surveys.services import invitation_for_token, response_record
from tests.factories import AccountFactory, LeadFactory
from tests.surveys.conftest import issue_link

pytestmark = pytest.mark.django_db


def answer(survey, lead, score, reason="", at=None):
    token = issue_link(survey, lead, token=f"t-{lead.pk}-{score}-{Response.objects.count()}")
    return response_record(invitation=invitation_for_token(token), score=score, reason=reason, now=at)


def test_dashboard_counts_and_nps_for_the_spec_example(client, marketer, survey, spec_model):
    for score in (10, 10, 9, 9, 9, 8, 7, 6, 3, 0):
        answer(survey, LeadFactory(), score)
    client.force_login(marketer)
    page = client.get(reverse("surveys:dashboard")).content.decode()
    assert 'id="nps-value">+20</div>' in page
    assert 'id="nps-promoters">5</div>' in page
    assert 'id="nps-passives">2</div>' in page
    assert 'id="nps-detractors">3</div>' in page
    assert 'id="response-rate">100.0 %</div>' in page


def test_dashboard_without_answers_says_no_data(client, marketer, spec_model):
    client.force_login(marketer)
    page = client.get(reverse("surveys:dashboard")).content.decode()
    assert 'id="nps-value">no data</div>' in page
    assert "No answers yet" in page


def test_follow_up_with_html_is_stored_verbatim_and_shown_escaped(client, marketer, survey, spec_model):
    reason = '<script>alert("x")</script><b>great</b>'
    answer(survey, LeadFactory(), 10, reason=reason)
    assert Response.objects.get().reason == reason
    client.force_login(marketer)
    page = client.get(reverse("surveys:dashboard")).content.decode()
    assert "<script>alert" not in page and "<b>great</b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;b&gt;great&lt;/b&gt;" in page


def test_csv_export_neutralises_formula_cells(client, marketer, survey, spec_model):
    reasons = ['=HYPERLINK("http://evil")', "+1+2", "-3", "@SUM(A1)", "\tTab", "\rCR", "plain, with comma"]
    for index, reason in enumerate(reasons):
        answer(survey, LeadFactory(name=f"Lead {index}"), 9, reason=reason)
    LeadFactory(name="=cmd|' /C calc'!A0")  # a lead name is attacker-controlled too
    answer(survey, type(LeadFactory()).objects.get(name__startswith="=cmd"), 4, reason="ok")
    client.force_login(marketer)
    response = client.get(reverse("surveys:export"))
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    exported = [row["reason"] for row in rows]
    assert exported[:7] == [
        '\'=HYPERLINK("http://evil")',
        "'+1+2",
        "'-3",
        "'@SUM(A1)",
        "'\tTab",
        "'\rCR",
        "plain, with comma",
    ]
    assert rows[-1]["lead_name"] == "'=cmd|' /C calc'!A0"
    assert rows[0]["score"] == "9" and rows[0]["group"] == "promoter" and rows[0]["survey"] == "Q3 NPS"


def test_nps_per_account_and_segment_use_latest_answers(survey, spec_model):
    acme, blue = AccountFactory(name="Acme"), AccountFactory(name="Blue")
    for score in (10, 9, 2):
        answer(survey, LeadFactory(account=acme), score)
    answer(survey, LeadFactory(account=blue), 7)
    rows = {row.name: row.summary for row in selectors.nps_by_account()}
    assert (rows["Acme"].promoters, rows["Acme"].detractors, round(rows["Acme"].nps, 1)) == (2, 1, 33.3)
    assert rows["Blue"].nps == 0
    Segment.objects.create(name="Acme people", filters={"account": str(acme.pk)})
    Segment.objects.create(name="Nobody", filters={"q": "zzz-nobody"})
    segments = {row.name: row.summary for row in selectors.nps_by_segment()}
    assert segments["Acme people"].total == 3
    assert segments["Nobody"].label == "no data"


def test_trend_groups_answers_by_month_and_leaves_empty_months_without_data(survey, spec_model):
    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    answer(survey, LeadFactory(), 10, at=datetime(2026, 6, 2, tzinfo=UTC))
    answer(survey, LeadFactory(), 0, at=datetime(2026, 6, 3, tzinfo=UTC))
    answer(survey, LeadFactory(), 9, at=datetime(2026, 4, 30, 23, tzinfo=UTC))
    trend = selectors.nps_trend(now=now, months=3)
    assert [m.label for m in trend] == ["Apr 2026", "May 2026", "Jun 2026"]
    assert [m.summary.nps for m in trend] == [100.0, None, 0.0]


def test_response_rate_counts_answered_of_sent(survey, spec_model):
    leads = [LeadFactory() for _ in range(4)]
    for lead in leads:
        issue_link(survey, lead, token=f"rate-{lead.pk}")
    response_record(invitation=invitation_for_token(f"rate-{leads[0].pk}"), score=8)
    rate = selectors.response_rate(survey=survey)
    assert (rate.answered, rate.sent, rate.percent) == (1, 4, 25.0)


def test_engagement_is_points_earned_in_last_90_days_from_the_engine(survey, spec_model):
    now = timezone.now()
    promoter, detractor, quiet = (
        LeadFactory(name="Promo"),
        LeadFactory(name="Detra"),
        LeadFactory(name="Quiet"),
    )
    events = [
        # 25 (form) + 30 (trial) within 90 days; the 25 from 120 days ago does not count.
        NewEvent(type="form_submit", occurred_at=now - timedelta(days=120), lead_id=promoter.pk),
        NewEvent(type="form_submit", occurred_at=now - timedelta(days=10), lead_id=promoter.pk),
        NewEvent(
            type="custom", name="Trial Started", occurred_at=now - timedelta(days=5), lead_id=promoter.pk
        ),
        NewEvent(type="form_submit", occurred_at=now - timedelta(days=2), lead_id=detractor.pk),
        NewEvent(type="form_submit", occurred_at=now - timedelta(days=200), lead_id=quiet.pk),
    ]
    events_ingest(events=events)
    answer(survey, promoter, 10)
    answer(survey, detractor, 2)
    answer(survey, quiet, 9)
    view = selectors.engagement_vs_nps(now=now)
    assert [(r.lead.name, r.engagement) for r in view.active_promoters] == [("Promo", 55.0)]
    assert [(r.lead.name, r.engagement) for r in view.active_detractors] == [("Detra", 25.0)]
    averages = {group: (average, size) for group, average, size in view.averages}
    assert averages["promoter"] == (27.5, 2)  # (55 + 0) / 2: Quiet earned nothing in the window
    assert averages["passive"] == (None, 0)


def test_charts_return_plain_numbers(client, marketer, survey, spec_model):
    answer(survey, LeadFactory(), 9)
    answer(survey, LeadFactory(), 3)
    client.force_login(marketer)
    distribution = json.loads(client.get(reverse("surveys:chart_distribution")).content)
    assert distribution["labels"] == [str(n) for n in range(11)]
    assert distribution["datasets"][0]["data"] == [0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0]
    trend = json.loads(client.get(reverse("surveys:chart_trend")).content)
    assert trend["datasets"][0]["data"][-1] == 0.0 and trend["datasets"][1]["data"][-1] == 2
    scatter = json.loads(client.get(reverse("surveys:chart_engagement")).content)
    assert [d["label"] for d in scatter["datasets"]] == ["Promoters", "Passives", "Detractors"]


def test_dashboard_filtered_by_an_unknown_survey_is_404(client, marketer, spec_model):
    client.force_login(marketer)
    assert client.get(reverse("surveys:dashboard") + "?survey=999").status_code == 404
    assert client.get(reverse("surveys:dashboard") + "?survey=x;DROP").status_code == 404


def test_lead_page_shows_the_lead_answers(client, marketer, survey, spec_model):
    lead = LeadFactory(name="Carlos Costa")
    answer(survey, lead, 9, reason="<i>Helpful</i> team")
    client.force_login(marketer)
    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    assert 'id="lead-nps-score">9</span>' in page
    assert "Promoter" in page
    assert "&lt;i&gt;Helpful&lt;/i&gt; team" in page


def test_cached_engagement_view_is_recomputed_after_a_new_answer(survey, spec_model):
    now = timezone.now()
    lead = LeadFactory(name="Freja")
    events_ingest(events=[NewEvent(type="form_submit", occurred_at=now - timedelta(days=1), lead_id=lead.pk)])
    assert selectors.engagement_vs_nps_cached(now=now).active_promoters == []
    answer(survey, lead, 10)
    assert [r.lead.name for r in selectors.engagement_vs_nps_cached(now=now).active_promoters] == ["Freja"]


def test_survey_list_counts_sent_links_and_answers_without_multiplying(survey, spec_model):
    from surveys.models import Invitation

    leads = [LeadFactory() for _ in range(3)]
    for lead in leads:
        issue_link(survey, lead, token=f"list-{lead.pk}")
    Invitation.objects.create(
        survey=survey, lead=LeadFactory(), created_at=timezone.now()
    )  # pending: not sent
    response_record(invitation=invitation_for_token(f"list-{leads[0].pk}"), score=9)
    response_record(invitation=invitation_for_token(f"list-{leads[1].pk}"), score=4)
    Response.objects.create(survey=survey, score=8, channel="public", answered_at=timezone.now())
    [row] = [row for row in selectors.survey_list() if row.pk == survey.pk]
    assert (row.sent, row.answered, row.public_answers) == (3, 2, 1)
    counts = selectors.invitation_counts(survey=survey)
    # 4 invitations: 1 pending, 3 links sent of which 2 answered; the public answer apart.
    assert (counts.invitations, counts.pending, counts.sent, counts.answered, counts.public_answers) == (
        4,
        1,
        3,
        2,
        1,
    )


def test_dashboard_survey_filter_applies_to_accounts_segments_and_engagement(
    client, marketer, survey, spec_model
):
    from tests.factories import SurveyFactory

    other = SurveyFactory(name="Other")
    acme = AccountFactory(name="Acme")
    ana, bo = LeadFactory(account=acme, name="Ana"), LeadFactory(account=acme, name="Bo")
    for lead in (ana, bo):
        events_ingest(events=[NewEvent(type="form_submit", occurred_at=timezone.now(), lead_id=lead.pk)])
    answer(survey, ana, 10)  # the chosen survey: Ana a promoter
    answer(other, ana, 2)  # Ana's latest answer overall is a detractor's
    answer(other, bo, 3)  # Bo answered only the other survey
    Segment.objects.create(name="Everyone", filters={})
    client.force_login(marketer)
    page = client.get(reverse("surveys:dashboard"), {"survey": survey.pk})
    by_account = page.context["by_account"]
    assert [(g.name, g.summary.promoters, g.summary.detractors) for g in by_account] == [("Acme", 1, 0)]
    assert [(g.name, g.summary.total) for g in page.context["by_segment"]] == [("Everyone", 1)]
    engagement = page.context["engagement"]
    assert [(r.lead.name, r.score, r.engagement) for r in engagement.active_promoters] == [("Ana", 10, 25)]
    assert engagement.active_detractors == [] and engagement.respondents == 1
    chart = client.get(reverse("surveys:chart_engagement"), {"survey": survey.pk}).json()
    assert [len(d["data"]) for d in chart["datasets"]] == [1, 0, 0]
    # All surveys: each lead's latest answer, so both are detractors now.
    page = client.get(reverse("surveys:dashboard"))
    assert [(g.summary.promoters, g.summary.detractors) for g in page.context["by_account"]] == [(0, 2)]


def test_trend_range_states_the_months_and_counts_older_answers(survey, spec_model):
    now = datetime(2026, 12, 15, tzinfo=UTC)
    answer(survey, LeadFactory(), 9, at=datetime(2025, 12, 31, tzinfo=UTC))  # before Jan 2026
    answer(survey, LeadFactory(), 9, at=datetime(2026, 1, 1, tzinfo=UTC))
    trend = selectors.trend_range(now=now)
    assert (trend.first.isoformat(), trend.last.isoformat(), trend.older) == ("2026-01-01", "2026-12-01", 1)
