"""The draft editor is one form with one Save: every setting and every rule row are validated
together, saved in one transaction, and nothing typed is lost when something is wrong."""

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models_review import services
from tests.factories import draft_editor_data, draft_editor_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def draft(spec_model, marketer):
    return services.draft_copy(source=spec_model, by=marketer)


def _points(version):
    return [(rule.event_type, rule.points) for rule in version.rules.all()]


def _save(client, draft, **changes):
    return client.post(
        reverse("models_review:version_save", args=[draft.pk]), draft_editor_data(draft, **changes)
    )


def test_version_save_keeps_two_rule_edits_and_a_setting_from_one_post(client, marketer, draft):
    client.force_login(marketer)
    rows = draft_editor_rows(draft)
    rows[0]["points"], rows[2]["points"] = "7", "-3"
    response = _save(client, draft, rules=rows, settings={"sales_ready_score": "120", "note": "Both rows"})
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.sales_ready_score == 120 and draft.note == "Both rows"
    edited = draft.rules.all()
    assert (edited[0].points, edited[2].points) == (7, -3)
    assert draft.rules.count() == 6


def test_version_save_error_names_the_row_and_field_and_stores_nothing(client, marketer, draft):
    client.force_login(marketer)
    before = _points(draft)
    rows = draft_editor_rows(draft)
    rows[0]["points"] = "11"  # valid, but must not be stored while row 2 is wrong
    rows[1]["points"] = "lots"
    response = _save(client, draft, rules=rows, settings={"period_days": "0", "note": "typed note"})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Rule 2 · points: must be a number, not &#x27;lots&#x27;" in html
    assert "decay.period_days: must be greater than 0" in html
    # What the person typed comes back in the form.
    assert 'value="lots"' in html and 'value="11"' in html and "typed note" in html
    draft.refresh_from_db()
    assert _points(draft) == before and draft.period_days == 7 and draft.note == ""


def test_version_save_adds_removes_and_orders_rows(client, marketer, draft):
    client.force_login(marketer)
    rows = draft_editor_rows(draft)
    expected = [str(rule) for index, rule in enumerate(draft.rules.all()) if index != 1]
    rows[1]["DELETE"] = True
    rows.append({"event_type": "custom", "event_name": "Demo booked", "points": "30", "max_per_day": "1"})
    rows.append({"event_type": "custom", "points": "nonsense", "DELETE": True})  # removed in the browser
    assert _save(client, draft, rules=rows).status_code == 302
    rules = list(draft.rules.all())
    assert [str(rule) for rule in rules] == [*expected, "custom Demo booked → 30"]
    assert (rules[-1].event_name, rules[-1].points, rules[-1].max_per_day) == ("Demo booked", 30, 1)
    assert [r.position for r in rules] == [1, 2, 3, 4, 5, 6]


def test_version_save_of_a_published_version_is_refused(client, marketer, spec_model):
    client.force_login(marketer)
    response = _save(client, spec_model, settings={"sales_ready_score": "1"})
    assert response.status_code == 400 and "is published" in response.content.decode()
    spec_model.refresh_from_db()
    assert spec_model.sales_ready_score == 100


def test_version_save_is_for_marketers(client, rep, draft):
    client.force_login(rep)
    assert _save(client, draft, settings={"sales_ready_score": "1"}).status_code == 403


def test_draft_save_rolls_back_the_settings_when_a_rule_is_refused(marketer, spec_model, draft):
    settings = {name: getattr(draft, name) for name in services.VERSION_SETTING_FIELDS}
    with pytest.raises(services.DraftError, match="not part of draft v2"):
        services.draft_save(
            version=draft,
            note="changed",
            settings={**settings, "sales_ready_score": 500},
            rules=[{"id": spec_model.rules.first().pk, "event_type": "page_view", "points": 1}],
        )
    draft.refresh_from_db()
    assert draft.sales_ready_score == 100 and draft.note == "" and draft.rules.count() == 6


SETTING_NAMES = ("sales_ready_score", "period_days", "decay_amount", "floor_fraction", "account_min_engaged")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    points=st.text(max_size=12),
    setting=st.sampled_from(SETTING_NAMES),
    value=st.one_of(st.text(max_size=12), st.floats(allow_nan=True).map(repr)),
)
def test_version_save_any_input_is_saved_whole_or_refused_whole(
    client, marketer, draft, points, setting, value
):
    client.force_login(marketer)
    draft.refresh_from_db()
    before = (_points(draft), {name: getattr(draft, name) for name in services.VERSION_SETTING_FIELDS})
    rows = draft_editor_rows(draft)
    rows[0]["points"], rows[3]["points"] = points, "17"
    response = _save(client, draft, rules=rows, settings={setting: value})
    draft.refresh_from_db()
    after = (_points(draft), {name: getattr(draft, name) for name in services.VERSION_SETTING_FIELDS})
    if response.status_code == 302:
        assert after[0][3][1] == 17  # the second edited row is kept with the first
    else:
        assert response.status_code == 400 and after == before
        assert "Nothing was saved" in response.content.decode()
