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
