"""Model settings have upper and lower bounds: a version that would overflow dates, tick
without end or stop being a number is refused in the form, in the model file and at publish."""

import pytest
from django.urls import reverse

from models_review import model_file, services
from models_review.models import ModelVersion
from tests.conftest import SPEC_MODEL
from tests.factories import draft_editor_data

pytestmark = pytest.mark.django_db

SETTINGS = {
    "note": "Bounds",
    "sales_ready_score": "100",
    "inactivity_days": "30",
    "period_days": "7",
    "decay_mode": "percent",
    "decay_amount": "10",
    "floor_fraction": "0.5",
    "cold_after_days": "30",
    "stage_mode": "score",
    "account_threshold": "",
}


@pytest.fixture
def draft(spec_model, marketer):
    return services.draft_copy(source=spec_model, by=marketer)


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("inactivity_days", "1000000000", "decay.inactivity_days: must be at most 3650"),
        ("period_days", "0.0001", "decay.period_days: must be at least 1"),
        ("sales_ready_score", "1e308", "sales_ready_score: must be between -1e+15 and 1e+15"),
        ("sales_ready_score", "2000000", "sales_ready_score: must be at most 1e+06"),
        ("cold_after_days", "99999", "cold_after_days: must be at most 3650"),
        ("account_threshold", "1e12", "account_threshold: must be at most 1e+09"),
    ],
)
def test_version_settings_out_of_bounds_are_refused_naming_the_field(
    client, marketer, draft, field, value, message
):
    client.force_login(marketer)
    response = client.post(
        reverse("models_review:version_save", args=[draft.pk]),
        draft_editor_data(draft, settings={**SETTINGS, field: value}),
    )
    assert response.status_code == 400 and message in response.content.decode()
    draft.refresh_from_db()
    assert (draft.inactivity_days, draft.period_days, draft.sales_ready_score) == (30, 7, 100)


def test_model_file_rule_points_and_caps_are_bounded():
    rules = [{"event_type": "form_submit", "points": 1e12, "max_per_day": 10**9}]
    with pytest.raises(model_file.ModelFileError) as raised:
        model_file.validate({**SPEC_MODEL, "rules": rules})
    assert raised.value.errors == [
        "rules[0].points: must be at most 1e+06",
        "rules[0].max_per_day: must be a whole number from 1 to 10,000, not 1000000000",
    ]


def test_model_file_goes_through_the_shared_input_checks():
    with pytest.raises(model_file.ModelFileError) as raised:
        model_file.validate({**SPEC_MODEL, "note": "nul\x00"})
    assert raised.value.errors == ["note: contains a NUL character (\\u0000), which cannot be stored"]


def test_publish_refuses_a_draft_whose_stored_settings_are_out_of_bounds(draft):
    # Written around the form (an old draft, a script): publish checks again before going live.
    ModelVersion.objects.filter(pk=draft.pk).update(period_days=0.0001, note="too fast")
    draft.refresh_from_db()
    with pytest.raises(model_file.ModelFileError, match="decay.period_days: must be at least 1"):
        services.version_publish(version=draft)
    draft.refresh_from_db()
    assert not draft.is_published
