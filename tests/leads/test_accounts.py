"""The account score of SPEC §4: engaged members only, `account_min_engaged`, buying roles."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.engine.accounts import Member, account_score, buying_role, keywords_parse
from leads.ingest.credentials import api_token_create
from leads.models import Account, BuyingRole
from leads.services import accounts_rollup, buying_roles_ensure, buying_roles_update
from models_review.services import version_import
from tests.conftest import SPEC_MODEL, day
from tests.factories import AccountFactory, LeadFactory

NOW = day(400)
ROLES = [
    ("Decision maker", ("vp", "head of", "director", "cto")),
    ("Influencer", ("manager", "lead")),
    ("User", ("analyst", "engineer")),
]


def spec_example_members():
    """SPEC §4: 120 engaged 3 days ago, 95 engaged 10 days ago, ten at 50 last engaged 200 days ago."""
    return [Member(120, NOW - timedelta(days=3)), Member(95, NOW - timedelta(days=10))], [
        Member(50, NOW - timedelta(days=200)) for _ in range(10)
    ]


def test_account_score_spec_example_counts_engaged_members_only():
    engaged, dormant = spec_example_members()
    result = account_score(engaged + dormant, as_of=NOW, threshold=200)
    assert (result.score, result.member_count, result.engaged_members, result.is_sales_ready) == (
        215,
        12,
        2,
        True,
    )


def test_account_score_ten_dormant_members_alone_score_zero():
    _, dormant = spec_example_members()
    result = account_score(dormant, as_of=NOW, threshold=200)
    assert (result.score, result.engaged_members, result.is_sales_ready) == (0, 0, False)


def test_account_score_needs_min_engaged_as_well_as_the_threshold():
    one_hot = [Member(250, NOW - timedelta(days=1))]
    assert account_score(one_hot, as_of=NOW, threshold=200).is_sales_ready is False  # 1 < 2 engaged
    assert account_score(one_hot, as_of=NOW, threshold=200, min_engaged=1).is_sales_ready is True


def test_account_score_window_edge_is_inclusive():
    members = [Member(30, NOW - timedelta(days=90)), Member(40, NOW - timedelta(days=90, seconds=1))]
    assert account_score(members, as_of=NOW, threshold=200).score == 30
    assert account_score(members, as_of=NOW, threshold=200, engagement_days=91).score == 70


def test_buying_role_matches_whole_words_first_role_wins():
    assert buying_role("VP of Marketing", ROLES) == "Decision maker"
    assert buying_role("Head of Data", ROLES) == "Decision maker"
    assert buying_role("Engineering Manager", ROLES) == "Influencer"  # "engineer" is not a whole word here
    assert buying_role("Director, Product Lead", ROLES) == "Decision maker"  # first role listed wins
    assert buying_role("Team Leader", ROLES) is None  # "lead" ≠ "leader"
    assert buying_role("", ROLES) is None


def test_keywords_parse_folds_case_trims_and_drops_repeats():
    assert keywords_parse(" VP, Head of ,, director, vp ") == ("vp", "head of", "director")


@pytest.mark.django_db
def test_accounts_rollup_spec_example_sales_ready_and_dormant_account_zero(spec_model):
    hot, cold = AccountFactory(), AccountFactory()
    LeadFactory(account=hot, score=120, last_engaged_at=NOW - timedelta(days=3))
    LeadFactory(account=hot, score=95, last_engaged_at=NOW - timedelta(days=10))
    for _ in range(10):
        LeadFactory(account=hot, score=50, last_engaged_at=NOW - timedelta(days=200))
        LeadFactory(account=cold, score=50, last_engaged_at=NOW - timedelta(days=200))
    accounts_rollup(as_of=NOW)
    hot.refresh_from_db()
    cold.refresh_from_db()
    assert (hot.score, hot.member_count, hot.engaged_members, hot.is_sales_ready) == (215, 12, 2, True)
    assert (cold.score, cold.member_count, cold.engaged_members, cold.is_sales_ready) == (0, 10, 0, False)


@pytest.mark.django_db
def test_accounts_rollup_uses_the_versions_engagement_days_and_min_engaged(db):
    version_import(data={**SPEC_MODEL, "engagement_days": 5, "account_min_engaged": 1}, publish=True)
    account = AccountFactory()
    LeadFactory(account=account, score=120, last_engaged_at=NOW - timedelta(days=3))
    LeadFactory(account=account, score=95, last_engaged_at=NOW - timedelta(days=10))  # outside 5 days
    accounts_rollup(as_of=NOW)
    account.refresh_from_db()
    assert (account.score, account.engaged_members, account.is_sales_ready) == (120, 1, False)  # 120 < 200


@pytest.mark.django_db
def test_accounts_rollup_drops_an_account_that_goes_dormant(spec_model):
    account = AccountFactory()
    LeadFactory(account=account, score=120, last_engaged_at=NOW - timedelta(days=3))
    LeadFactory(account=account, score=95, last_engaged_at=NOW - timedelta(days=10))
    accounts_rollup(as_of=NOW)
    assert Account.objects.get(pk=account.pk).is_sales_ready
    accounts_rollup(as_of=NOW + timedelta(days=85))  # the 95 is now 95 days old
    account.refresh_from_db()
    assert (account.score, account.engaged_members, account.is_sales_ready) == (120, 1, False)


member_values = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=500, allow_nan=False).map(lambda x: round(x, 3)),
        st.one_of(st.none(), st.integers(min_value=0, max_value=200)),
    ),
    max_size=8,
)


@pytest.mark.django_db
# Each example deletes the accounts it made; the published model is shared on purpose.
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(members=member_values)
def test_accounts_rollup_equals_the_engine_for_any_members(spec_model, members):
    Account.objects.all().delete()
    account = AccountFactory()
    engine_members = []
    for score, days_ago in members:
        last = None if days_ago is None else NOW - timedelta(days=days_ago)
        LeadFactory(account=account, score=score, last_engaged_at=last)
        engine_members.append(Member(score, last))
    accounts_rollup(as_of=NOW)
    account.refresh_from_db()
    expected = account_score(engine_members, as_of=NOW, threshold=200)
    assert account.score == pytest.approx(expected.score, abs=1e-6)
    assert (account.member_count, account.engaged_members, account.is_sales_ready) == (
        expected.member_count,
        expected.engaged_members,
        expected.is_sales_ready,
    )


@pytest.mark.django_db
def test_account_read_api_spec_example_gives_215_and_ten_alone_give_0(client, spec_model, marketer):
    token = api_token_create(username=marketer.username)[1]
    now = timezone.now()
    hot = AccountFactory(domain="hot.example")
    cold = AccountFactory(domain="cold.example")
    # Scored just now, so the read API's decay to the request changes nothing.
    LeadFactory(account=hot, score=120, scored_at=now, last_engaged_at=now - timedelta(days=3))
    LeadFactory(account=hot, score=95, scored_at=now, last_engaged_at=now - timedelta(days=10))
    for _ in range(10):
        for account in (hot, cold):
            LeadFactory(account=account, score=50, scored_at=now, last_engaged_at=now - timedelta(days=200))
    accounts_rollup(as_of=now)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = client.get("/api/v1/accounts/hot.example", **auth).json()
    assert (body["score"], body["score_now"], body["engaged_members"], body["member_count"]) == (
        215,
        215,
        2,
        12,
    )
    assert body["is_sales_ready"] is True and body["account_min_engaged"] == 2
    assert [m["score"] for m in body["top_contributors"]] == [120, 95]
    assert sum(m["counts"] for m in body["members"]) == 2
    body = client.get("/api/v1/accounts/cold.example", **auth).json()
    assert (body["score"], body["score_now"], body["engaged_members"], body["is_sales_ready"]) == (
        0,
        0,
        0,
        False,
    )
    assert body["top_contributors"] == []
    assert "0 engaged members, 2 needed" in body["sales_ready_reason"]


@pytest.mark.django_db
def test_account_page_says_which_members_count_and_shows_role_coverage(client, spec_model, marketer):
    buying_roles_ensure()
    now = timezone.now()
    account = AccountFactory(name="Initech")
    LeadFactory(
        account=account, name="Ana", title="VP Sales", score=120, last_engaged_at=now - timedelta(days=3)
    )
    LeadFactory(
        account=account, name="Bo", title="Data Analyst", score=95, last_engaged_at=now - timedelta(days=10)
    )
    LeadFactory(
        account=account, name="Cy", title="Engineer", score=50, last_engaged_at=now - timedelta(days=200)
    )
    accounts_rollup(as_of=now)
    client.force_login(marketer)
    page = client.get(f"/leads/accounts/{account.pk}/").content.decode()
    assert "Sales-ready: score 215.0 ≥ 200 with 2 engaged members (at least 2)." in page
    assert "last engaged 200 days ago, outside 90 days: counts 0" in page
    assert "engaged 3 days ago, within 90 days" in page
    # Decision maker: Ana engaged; User: Bo engaged, Cy dormant; Influencer: none engaged.
    assert "none engaged" in page


@pytest.mark.django_db
def test_buying_roles_update_saves_parsed_keywords_and_refuses_unknown_ids():
    buying_roles_ensure()
    role = BuyingRole.objects.get(name="Influencer")
    buying_roles_update(keywords={role.pk: "Manager,  Team Lead ,manager"})
    role.refresh_from_db()
    assert role.keywords == "manager, team lead"
    with pytest.raises(ValueError, match="role-999999: no such buying role"):
        buying_roles_update(keywords={999999: "x"})
