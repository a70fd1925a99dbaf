import json

import pytest
from django.core.management import CommandError, call_command

from models_review import model_file
from models_review.models import ModelVersion, PublishedVersionError, Rule
from models_review.services import version_export, version_import
from tests.conftest import SPEC_MODEL

pytestmark = pytest.mark.django_db


def write(tmp_path, data):
    path = tmp_path / "model.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return str(path)


def test_import_and_publish_then_export_round_trips(tmp_path, capsys):
    call_command("model_import", write(tmp_path, SPEC_MODEL), "--publish")
    version = ModelVersion.objects.get(is_active=True)
    assert (version.number, version.rules.count()) == (1, 6)
    call_command("model_export")
    exported = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert exported == SPEC_MODEL


@pytest.mark.parametrize(
    "change, field",
    [
        ({"colour": "blue"}, "colour: unknown key"),
        ({"decay": {**SPEC_MODEL["decay"], "period_days": 0}}, "decay.period_days: must be greater than 0"),
        ({"decay": {**SPEC_MODEL["decay"], "period_days": -7}}, "decay.period_days: must be greater than 0"),
        ({"decay": {**SPEC_MODEL["decay"], "mode": "linear"}}, "decay.mode: must be one of percent, points"),
        ({"decay": {**SPEC_MODEL["decay"], "speed": 1}}, "decay.speed: unknown key"),
        ({"rules": [{"event_type": "form_submit", "points": "ten"}]}, "rules[0].points: must be a number"),
        (
            {"rules": [{"event_type": "form_submit", "points": 5, "colour": 1}]},
            "rules[0].colour: unknown key",
        ),
        ({"rules": [{"event_type": "teleport", "points": 5}]}, "rules[0].event_type: must be one of"),
        ({"rules": [{"event_type": "download", "points": 5, "max_per_day": 0}]}, "rules[0].max_per_day"),
        ({"sales_ready_score": True}, "sales_ready_score: must be a number"),
    ],
)
def test_import_refuses_a_malformed_file_naming_the_field_and_changes_nothing(tmp_path, change, field):
    call_command("model_import", write(tmp_path, SPEC_MODEL), "--publish")
    with pytest.raises(CommandError) as error:
        call_command("model_import", write(tmp_path, {**SPEC_MODEL, **change}), "--publish")
    assert field in str(error.value)
    assert ModelVersion.objects.count() == 1 and Rule.objects.count() == 6
    assert ModelVersion.objects.get().is_active


def test_import_refuses_a_file_that_is_not_json(tmp_path):
    with pytest.raises(CommandError, match="not valid JSON"):
        call_command("model_import", write(tmp_path, "{nope"))
    assert not ModelVersion.objects.exists()


def test_import_without_publish_leaves_a_draft(tmp_path):
    call_command("model_import", write(tmp_path, SPEC_MODEL))
    version = ModelVersion.objects.get()
    assert version.status == "draft" and not version.is_active


def test_a_published_version_and_its_rules_cannot_be_changed(spec_model):
    spec_model.sales_ready_score = 50
    with pytest.raises(PublishedVersionError):
        spec_model.save()
    rule = spec_model.rules.first()
    rule.points = 99
    with pytest.raises(PublishedVersionError):
        rule.save()
    with pytest.raises(PublishedVersionError):
        rule.delete()
    assert Rule.objects.get(pk=rule.pk).points == 5


def test_model_file_account_keys_default_validate_and_round_trip():
    clean = model_file.validate({"model": "M"})
    assert (clean["engagement_days"], clean["account_min_engaged"]) == (90, 2)
    with pytest.raises(model_file.ModelFileError) as refused:
        model_file.validate({"model": "M", "engagement_days": 0, "account_min_engaged": 1.5})
    assert refused.value.errors == [
        "engagement_days: must be greater than 0",
        "account_min_engaged: must be a whole number of at least 1, not 1.5",
    ]
    version = version_import(data={**SPEC_MODEL, "engagement_days": 60, "account_min_engaged": 3})
    assert version.spec().engagement_days == 60 and version.spec().account_min_engaged == 3
    exported = version_export(version=version)
    assert (exported["engagement_days"], exported["account_min_engaged"]) == (60, 3)
