import pytest
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from models_review import services
from models_review.models import ModelVersion, PublishedVersionError, Rule, SalesFeedback, VersionCitation
from tests.factories import LeadFactory, draft_editor_data, draft_editor_rows

pytestmark = pytest.mark.django_db

DATABASE_REFUSALS = IntegrityError


@pytest.fixture
def draft(spec_model, marketer):
    return services.draft_copy(source=spec_model, by=marketer)


def test_copy_makes_a_draft_with_the_same_rules_and_an_empty_note(client, marketer, spec_model):
    client.force_login(marketer)
    response = client.post(reverse("models_review:version_copy", args=[spec_model.pk]))
    draft = ModelVersion.objects.get(number=2)
    assert response["Location"] == reverse("models_review:version", args=[draft.pk])
    assert draft.status == "draft" and draft.note == "" and draft.created_by == marketer
    assert [str(r) for r in draft.rules.all()] == [str(r) for r in spec_model.rules.all()]


def test_copy_twice_opens_the_existing_draft(client, marketer, spec_model):
    client.force_login(marketer)
    first = client.post(reverse("models_review:version_copy", args=[spec_model.pk]))
    second = client.post(reverse("models_review:version_copy", args=[spec_model.pk]), follow=True)
    draft = ModelVersion.objects.get(status="draft")
    assert (
        first["Location"] == second.redirect_chain[0][0] == reverse("models_review:version", args=[draft.pk])
    )
    assert ModelVersion.objects.count() == 2
    assert "already in progress" in second.content.decode()


def test_raising_a_rule_in_the_browser_changes_only_the_draft(client, marketer, spec_model, draft):
    client.force_login(marketer)
    rows = draft_editor_rows(draft)
    next(row for row in rows if row["event_type"] == "form_submit")["points"] = "40"
    response = client.post(
        reverse("models_review:version_save", args=[draft.pk]), draft_editor_data(draft, rules=rows)
    )
    assert response.status_code == 302
    assert draft.rules.get(event_type="form_submit").points == 40
    assert spec_model.rules.get(event_type="form_submit").points == 25


def test_inline_validation_names_the_model_file_field(client, marketer, draft):
    client.force_login(marketer)
    rows = [*draft_editor_rows(draft), {"event_type": "download", "points": "lots", "max_per_day": "0"}]
    response = client.post(
        reverse("models_review:version_save", args=[draft.pk]),
        {**draft_editor_data(draft, rules=rows), "_validate": "1"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "Rule 7 · points: must be a number, not &#x27;lots&#x27;" in html
    assert "Rule 7 · max_per_day: must be a whole number from 1 to 10,000, not 0" in html
    assert 'hx-swap-oob="true"' in html
    assert draft.rules.count() == 6  # validating stores nothing


def test_invalid_settings_are_refused_naming_the_field_and_nothing_changes(client, marketer, draft):
    client.force_login(marketer)
    settings = {
        "note": "Faster decay",
        "sales_ready_score": "100",
        "inactivity_days": "30",
        "period_days": "0",
        "decay_mode": "percent",
        "decay_amount": "150",
        "floor_fraction": "0.5",
        "cold_after_days": "30",
        "stage_mode": "score",
        "account_threshold": "",
    }
    response = client.post(
        reverse("models_review:version_save", args=[draft.pk]), draft_editor_data(draft, settings=settings)
    )
    html = response.content.decode()
    assert response.status_code == 400
    assert "decay.period_days: must be greater than 0" in html and "decay.amount: must be at most 100" in html
    draft.refresh_from_db()
    assert draft.period_days == 7 and draft.note == ""


def test_settings_and_cited_feedback_are_saved(client, marketer, rep, draft):
    client.force_login(marketer)
    feedback = services.feedback_record(lead=LeadFactory(owner=rep), rep=rep, changes={"reason": "student"})
    settings = {
        "note": "Students were reaching sales",
        "sales_ready_score": "120",
        "inactivity_days": "30",
        "period_days": "7",
        "decay_mode": "points",
        "decay_amount": "5",
        "floor_fraction": "0.5",
        "cold_after_days": "45",
        "stage_mode": "score",
        "account_threshold": "",
        "cited_feedback": [feedback.pk],
    }
    data = draft_editor_data(draft, settings=settings)
    assert client.post(reverse("models_review:version_save", args=[draft.pk]), data).status_code == 302
    draft.refresh_from_db()
    assert (draft.sales_ready_score, draft.decay_mode, draft.decay_amount, draft.cold_after_days) == (
        120,
        "points",
        5,
        45,
    )
    assert draft.account_threshold is None
    assert list(draft.citations.values_list("feedback_id", flat=True)) == [feedback.pk]


def test_publishing_without_a_note_is_refused(client, marketer, draft):
    client.force_login(marketer)
    response = client.post(reverse("models_review:version_publish", args=[draft.pk]), follow=True)
    assert "note: write a change note" in response.content.decode()
    draft.refresh_from_db()
    assert draft.status == "draft" and not draft.is_active


def test_publishing_an_invalid_draft_is_refused_naming_the_field(client, marketer, draft):
    Rule.objects.filter(version=draft, event_type="video_play").update(event_type="telepathy")
    ModelVersion.objects.filter(pk=draft.pk).update(note="Try a new event type")
    client.force_login(marketer)
    response = client.post(reverse("models_review:version_publish", args=[draft.pk]), follow=True)
    assert "rules[2].event_type: must be one of" in response.content.decode()
    assert ModelVersion.objects.get(is_active=True).number == 1


def test_publishing_makes_the_draft_active_and_rescored(client, marketer, spec_model, draft):
    ModelVersion.objects.filter(pk=draft.pk).update(note="Forms show intent")
    client.force_login(marketer)
    response = client.post(reverse("models_review:version_publish", args=[draft.pk]))
    assert response.status_code == 302
    draft.refresh_from_db()
    spec_model.refresh_from_db()
    assert draft.is_active and draft.is_published and draft.published_by == marketer
    assert not spec_model.is_active and spec_model.is_published
    with pytest.raises(services.DraftError, match="status: version 2 is already published"):
        services.version_publish(version=draft)


def test_discarding_a_draft_removes_it_but_a_published_version_stays(client, marketer, spec_model, draft):
    client.force_login(marketer)
    client.post(reverse("models_review:version_discard", args=[draft.pk]))
    assert not ModelVersion.objects.filter(pk=draft.pk).exists()
    client.post(reverse("models_review:version_discard", args=[spec_model.pk]))
    assert ModelVersion.objects.filter(pk=spec_model.pk).exists()


def test_published_version_refuses_changes_through_the_models(spec_model):
    spec_model.sales_ready_score = 50
    with pytest.raises(PublishedVersionError):
        spec_model.save()
    with pytest.raises(PublishedVersionError):
        spec_model.delete()
    rule = spec_model.rules.first()
    rule.points = 99
    with pytest.raises(PublishedVersionError):
        rule.save()
    with pytest.raises(services.DraftError):
        services.draft_rule_save(version=spec_model, rule={"event_type": "form_submit", "points": 1})


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE models_review_modelversion SET sales_ready_score = 50 WHERE id = %s",
        "UPDATE models_review_modelversion SET note = 'rewritten' WHERE id = %s",
        "UPDATE models_review_modelversion SET engagement_days = 5 WHERE id = %s",
        "UPDATE models_review_modelversion SET account_min_engaged = 9 WHERE id = %s",
        "UPDATE models_review_rule SET points = 99 WHERE version_id = %s",
        "INSERT INTO models_review_rule (version_id, position, event_type, points, url_pattern, event_name,"
        " asset, asset_flag, product_line) VALUES (%s, 9, 'form_submit', 1, '', '', '', '', '')",
    ],
)
def test_published_version_refuses_changes_in_the_database(spec_model, statement):
    with pytest.raises(DATABASE_REFUSALS), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [spec_model.pk])
    spec_model.refresh_from_db()
    assert spec_model.sales_ready_score == 100 and spec_model.note == "SPEC §2a example"
    assert spec_model.rules.count() == 6 and not spec_model.rules.filter(points=99).exists()


def test_queryset_update_of_a_published_version_is_refused(spec_model):
    with pytest.raises(DATABASE_REFUSALS), transaction.atomic():
        ModelVersion.objects.filter(pk=spec_model.pk).update(sales_ready_score=1)
    with pytest.raises(DATABASE_REFUSALS), transaction.atomic():
        VersionCitation.objects.create(
            version=spec_model,
            feedback=SalesFeedback.objects.create(lead=LeadFactory(), rep=spec_model.created_by or _user()),
        )
    # moving the active pointer is the one allowed write
    ModelVersion.objects.filter(pk=spec_model.pk).update(is_active=False)


def _user():
    from tests.factories import UserFactory

    return UserFactory()


@pytest.mark.skipif(
    "connection.vendor != 'postgresql'", reason="SQLite keeps no DELETE trigger (see migration)"
)
def test_published_version_refuses_delete_in_postgres(spec_model):
    with pytest.raises(DATABASE_REFUSALS), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DELETE FROM models_review_rule WHERE version_id = %s", [spec_model.pk])
    assert spec_model.rules.count() == 6


def test_admin_cannot_change_a_published_version(client, spec_model):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "correct horse battery")
    client.force_login(admin)
    url = reverse("admin:models_review_modelversion_change", args=[spec_model.pk])
    client.post(url, {"note": "rewritten", "sales_ready_score": "1"})
    assert (
        client.post(
            reverse("admin:models_review_modelversion_delete", args=[spec_model.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    spec_model.refresh_from_db()
    assert spec_model.note == "SPEC §2a example" and spec_model.sales_ready_score == 100


def test_version_pages_are_for_marketers(client, rep, spec_model):
    client.force_login(rep)
    assert client.get(reverse("models_review:versions")).status_code == 403
    assert client.post(reverse("models_review:version_copy", args=[spec_model.pk])).status_code == 403


def test_a_rule_of_another_version_cannot_be_edited_through_a_draft(client, marketer, spec_model, draft):
    client.force_login(marketer)
    published_rule = spec_model.rules.first()
    rows = draft_editor_rows(draft)
    rows[0] = {**rows[0], "rule_id": published_rule.pk, "points": "1"}
    response = client.post(
        reverse("models_review:version_save", args=[draft.pk]), draft_editor_data(draft, rules=rows)
    )
    assert response.status_code == 400
    assert f"rules: rule {published_rule.pk} is not part of draft v2" in response.content.decode()
    assert spec_model.rules.first().points == published_rule.points
