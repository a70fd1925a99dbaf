"""The outcomes CSV (§11) through the import framework: per-row errors, nothing added twice."""

import pytest
from django.core.management import call_command
from hypothesis import given, settings
from hypothesis import strategies as st

from leads.ingest.imports import RowError, csv_check, csv_import
from models_review.learning.labels import latest_labels
from models_review.learning.outcomes import clean_outcome_row
from models_review.models import OutcomeLabel
from tests.conftest import day
from tests.factories import LeadFactory, RepFactory

pytestmark = pytest.mark.django_db

FILE = """email,really_sales_ready,outcome,at,reason,rep
ana@example.com,yes,,2026-02-01,good fit,rep1
ana@example.com,,won,2026-03-01T10:00:00Z,,
bo@example.com,no,lost,2026-02-02,No budget,
nobody@example.com,yes,,2026-02-03,,
bo@example.com,maybe,,2026-02-04,,
bo@example.com,,,2026-02-05,,
bo@example.com,yes,,31/01/2026,,
bo@example.com,yes,,2026-02-06,,ghost
"""


@pytest.fixture
def people(db):
    RepFactory(username="rep1")
    return LeadFactory(email="ana@example.com"), LeadFactory(email="bo@example.com")


def test_outcomes_import_reports_each_bad_row_by_line_and_field(people):
    checked = csv_check(kind="outcomes", text=FILE, now=day(400))
    assert [(e["line"], e["field"]) for e in checked.errors] == [
        (5, "email"),
        (6, "really_sales_ready"),
        (7, "really_sales_ready"),
        (8, "at"),
        (9, "rep"),
    ]
    assert len(checked.rows) == 3


def test_outcomes_import_twice_adds_nothing_the_second_time(people):
    first = csv_import(checked=csv_check(kind="outcomes", text=FILE, now=day(400)))
    second = csv_import(checked=csv_check(kind="outcomes", text=FILE, now=day(400)))
    assert (first.created, second.created, second.duplicates) == (3, 0, 3)
    ana, bo = people
    rows = {
        (row.lead_id, row.outcome, row.really_sales_ready, row.reason) for row in OutcomeLabel.objects.all()
    }
    assert rows == {
        (ana.pk, "", True, "good_fit"),
        (ana.pk, "won", None, ""),
        (bo.pk, "lost", False, "no_budget"),
    }
    labels = latest_labels()
    assert (labels[ana.pk].positive, labels[bo.pk].positive) == (True, False)  # ana: the later "won"


def test_outcomes_import_command_reports_rows_with_errors(people, tmp_path, capsys):
    path = tmp_path / "outcomes.csv"
    path.write_text(FILE)
    call_command("import_csv", "outcomes", str(path))
    out, err = capsys.readouterr()
    assert "3 imported (3 new, 0 updated), 0 already known, 5 rows with errors." in out
    assert "line 5: email: no lead has the email nobody@example.com" in err


@settings(max_examples=200, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            name: st.text(max_size=30)
            for name in ("email", "really_sales_ready", "outcome", "at", "reason", "rep")
        }
    )
)
def test_outcomes_clean_row_takes_any_text_and_names_the_bad_field(raw):
    try:
        row = clean_outcome_row({k: v.strip() for k, v in raw.items()}, day(400))
    except RowError as problem:
        assert problem.field in raw
    else:
        assert row["really_sales_ready"] is not None or row["outcome"]
        assert row["at"].tzinfo is not None
