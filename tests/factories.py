import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from leads.models import Account, Asset, Lead, ProductLine
from leads.roles import MARKETERS, SALES_REPS


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.django.Password("correct horse battery")


class MarketerFactory(UserFactory):
    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        self.groups.add(Group.objects.get_or_create(name=MARKETERS)[0])


class RepFactory(UserFactory):
    @factory.post_generation
    def role(self, create, extracted, **kwargs):
        self.groups.add(Group.objects.get_or_create(name=SALES_REPS)[0])


class AccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Account

    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.Sequence(lambda n: f"company{n}.example")


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    email = factory.Sequence(lambda n: f"lead{n}@example.com")
    name = factory.Sequence(lambda n: f"Lead {n}")


class ProductLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductLine
        django_get_or_create = ("name",)

    name = "Analytics"


class AssetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Asset
        django_get_or_create = ("kind", "key")

    kind = Asset.Kind.PAGE
    key = factory.Sequence(lambda n: f"https://x.example/page-{n}")


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "surveys.Survey"

    name = factory.Sequence(lambda n: f"NPS survey {n}")


def draft_editor_rows(version) -> list[dict]:
    """The draft editor's rule rows as the page first shows them (one dict per row)."""
    from models_review.forms import RuleForm

    return [{**RuleForm.initial_for(rule), "rule_id": rule.pk} for rule in version.rules.all()]


def draft_editor_data(version, *, settings=None, rules=None) -> dict:
    """POST data of the draft editor's one form: the version's current values, with `settings`
    overriding fields and `rules` (from draft_editor_rows, changed) replacing the rows."""
    from models_review.forms import VersionSettingsForm

    data = {k: v for k, v in VersionSettingsForm.initial_for(version).items() if k != "cited_feedback"}
    data.update(settings or {})
    rows = draft_editor_rows(version) if rules is None else rules
    data["rules-TOTAL_FORMS"] = str(len(rows))
    data["rules-INITIAL_FORMS"] = str(sum(1 for row in rows if row.get("rule_id")))
    for index, row in enumerate(rows):
        for key, value in row.items():
            if key == "DELETE":
                if value:
                    data[f"rules-{index}-DELETE"] = "on"
            else:
                data[f"rules-{index}-{key}"] = "" if value is None else str(value)
    return data
