import csv
import io

import pytest

from leads.models import Segment, Tag
from leads.workspace.segments import neutralise, segments_ensure_built_in
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db


def test_built_in_segments_are_created_once(spec_model):
    assert segments_ensure_built_in() == 4
    assert segments_ensure_built_in() == 0
    assert sorted(Segment.objects.values_list("built_in", flat=True)) == [
        "cold-nurture",
        "highest-scores",
        "lowest-scores",
        "sales-ready",
    ]


def test_built_in_does_not_clash_with_a_marketers_segment_name(spec_model):
    Segment.objects.create(name="Sales-ready", filters={"score_min": 90})
    segments_ensure_built_in()
    assert Segment.objects.get(built_in="sales-ready").name == "Sales-ready (built-in)"


def test_segment_list_shows_live_member_counts(client, marketer, spec_model):
    LeadFactory(stage=4, score=110)
    LeadFactory(stage=1, score=3, is_cold=True)
    LeadFactory(stage=1, score=8, is_cold=True)
    client.force_login(marketer)
    rows = {segment.built_in: count for segment, _, count in client.get("/leads/segments/").context["rows"]}
    assert rows == {
        "sales-ready": (1, False),
        "cold-nurture": (2, False),
        "lowest-scores": (3, False),
        "highest-scores": (3, False),
    }


def test_save_the_lead_list_filter_as_a_segment(client, marketer, spec_model):
    hot = Tag.objects.create(name="hot")
    wanted = LeadFactory(score=70, name="Wanted")
    wanted.tags.add(hot)
    LeadFactory(score=70, name="Untagged")
    client.force_login(marketer)
    response = client.post(
        "/leads/segments/", {"name": "Hot ones", "query": "tag=hot&score_min=50&sort=score&page=2"}
    )
    segment = Segment.objects.get(name="Hot ones")
    assert response.status_code == 302 and response["Location"] == f"/leads/segments/{segment.pk}/"
    assert segment.filters == {"score_min": 50.0, "tag": ["hot"]} and segment.order == "score"
    members = client.get(f"/leads/segments/{segment.pk}/").context["leads"]
    assert [lead.name for lead in members] == ["Wanted"]


@pytest.mark.parametrize(
    "post, message",
    [
        ({"name": "", "query": ""}, "name:"),
        ({"name": "X", "query": "sort=score;DROP"}, "sort: must be one of"),
    ],
)
def test_bad_segment_input_is_refused_with_the_field(client, marketer, spec_model, post, message):
    client.force_login(marketer)
    response = client.post("/leads/segments/", post, follow=True)
    assert message in response.content.decode()
    assert not Segment.objects.filter(built_in="").exists()


def test_duplicate_segment_name_is_refused(client, marketer, spec_model):
    client.force_login(marketer)
    client.post("/leads/segments/", {"name": "Mine", "query": ""})
    response = client.post("/leads/segments/", {"name": "Mine", "query": "cold=1"}, follow=True)
    assert "already exists" in response.content.decode()
    assert Segment.objects.get(name="Mine").filters == {}


@pytest.mark.parametrize(
    "cell, safe",
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1", "'+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Ada", "Ada"),
        (None, ""),
        (12.5, "12.5"),
    ],
)
def test_csv_cells_are_neutralised(cell, safe):
    assert neutralise(cell) == safe


def test_segment_csv_export_streams_members_in_order_and_safely(client, marketer, spec_model):
    LeadFactory(name="=cmd|' /C calc'!A0", email="evil@example.com", score=40)
    LeadFactory(name="Top", email="top@example.com", score=90)
    segments_ensure_built_in()
    segment = Segment.objects.get(built_in="highest-scores")
    client.force_login(marketer)
    response = client.get(f"/leads/segments/{segment.pk}/members.csv")
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    assert "attachment;" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:2] == ["email", "name"]
    assert [(r[0], r[1], r[5]) for r in rows[1:]] == [
        ("top@example.com", "Top", "90.00"),
        ("evil@example.com", "'=cmd|' /C calc'!A0", "40.00"),
    ]
