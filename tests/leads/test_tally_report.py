import pytest

from leads.models import StageChange
from leads.workspace import selectors
from tests.conftest import day
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_tally_report_suggests_8_points_for_averages_5_3_4(spec_model):
    LeadFactory(stage=4, engine_state={"tallies": {"1": 4, "2": 2, "3": 5, "4": 9}})
    LeadFactory(stage=5, engine_state={"tallies": {"1": 6, "2": 4, "3": 3}})
    # Reached sales-ready once, then decayed back: it still counts.
    back = LeadFactory(stage=2, engine_state={"tallies": {"1": 5, "2": 3, "3": 4}})
    StageChange.objects.create(lead=back, from_stage=3, to_stage=4, at=day(3), reason="event")
    LeadFactory(stage=1, engine_state={"tallies": {"1": 50}})  # never sales-ready: ignored
    report = selectors.tally_calibration()
    assert report.leads == 3
    assert [round(avg, 6) for _, _, avg in report.averages] == [5.0, 3.0, 4.0]
    assert report.suggested_points == 8  # 100 / (5 + 3 + 4) = 8.33 → 8


def test_tally_report_without_sales_ready_leads_suggests_nothing(spec_model):
    LeadFactory(stage=1, engine_state={"tallies": {"1": 3}})
    report = selectors.tally_calibration()
    assert report.leads == 0 and report.suggested_points is None


def test_tally_report_page(client, marketer, spec_model):
    LeadFactory(stage=4, engine_state={"tallies": {"1": 5, "2": 3, "3": 4}})
    client.force_login(marketer)
    response = client.get("/leads/tally/")
    assert response.status_code == 200
    assert b'id="suggested-points">8<' in response.content
