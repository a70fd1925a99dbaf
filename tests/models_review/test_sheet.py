import csv
import io

import pytest
from django.urls import reverse

from models_review import services
from models_review.models import ModelVersion
from models_review.selectors import version_sheet
from models_review.views import csv_safe

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_versions(spec_model, marketer):
    draft = services.draft_copy(source=spec_model, by=marketer)
    rule = draft.rules.get(event_type="form_submit")
    services.draft_rule_save(version=draft, rule={"event_type": "form_submit", "points": 40}, rule_id=rule.pk)
    services.draft_rule_save(version=draft, rule={"event_type": "webinar_attend", "points": 15})
    ModelVersion.objects.filter(pk=draft.pk).update(note='=HYPERLINK("http://evil") forms matter more')
    return spec_model, draft


def test_sheet_has_one_column_per_version_oldest_first_and_marks_changes(two_versions):
    versions, rows = version_sheet()
    assert [v.number for v in versions] == [1, 2]
    by_label = {row.label: row for row in rows}
    form = by_label["form_submit"]
    assert [c.value for c in form.cells] == ["25", "40"] and [c.changed for c in form.cells] == [False, True]
    assert [c.value for c in by_label["webinar_attend"].cells] == ["", "15"]
    assert by_label["webinar_attend"].cells[1].changed
    assert [c.changed for c in by_label["Sales-ready score (T)"].cells] == [False, False]
    assert by_label["download · Analytics"].cells[0].value == "10 (max 3/day)"
    assert by_label["page_view · */careers*"].cells[1].value == "-10"


def test_sheet_page_shows_the_new_column_with_its_note(client, marketer, two_versions):
    client.force_login(marketer)
    html = client.get(reverse("models_review:sheet")).content.decode()
    assert 'data-version="2"' in html and "forms matter more" in html
    assert '<td class="num changed">40</td>' in html


def test_csv_export_is_the_same_table_and_safe_from_formulas(client, marketer, two_versions):
    client.force_login(marketer)
    response = client.get(reverse("models_review:sheet_csv"))
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Row", "v1 (published)", "v2 (draft)"]
    assert rows[1][2].startswith("'=HYPERLINK")
    assert ["form_submit", "25", "40"] in rows and ["page_view · */careers*", "-10", "-10"] in rows


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+2", "'=1+2"),
        ("+cmd", "'+cmd"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-10", "-10"),
        ("12.5", "12.5"),
        ("plain", "plain"),
        (None, ""),
    ],
)
def test_csv_cells_starting_like_formulas_are_quoted(value, expected):
    assert csv_safe(value) == expected


def test_sheet_column_headers_cite_the_feedback_behind_a_version(client, marketer, rep, two_versions):
    from models_review.models import SalesFeedback, VersionCitation
    from tests.factories import LeadFactory

    _, draft = two_versions
    feedback = SalesFeedback.objects.create(
        lead=LeadFactory(name="Cited Lead"), rep=rep, note="forms = intent"
    )
    VersionCitation.objects.create(version=draft, feedback=feedback)
    client.force_login(marketer)
    html = client.get(reverse("models_review:sheet")).content.decode()
    assert f"#{feedback.pk} Cited Lead" in html
    rows = list(csv.reader(io.StringIO(client.get(reverse("models_review:sheet_csv")).content.decode())))
    assert ["Cites feedback", "", f"#{feedback.pk}"] in rows
