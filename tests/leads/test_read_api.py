from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from leads import services
from leads.ingest import events
from leads.ingest.credentials import api_token_create
from leads.ingest.events import NewEvent
from leads.models import ApiToken, Lead
from leads.roles import is_marketer
from tests.conftest import day
from tests.factories import AccountFactory, LeadFactory, RepFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def token(spec_model, marketer):
    return api_token_create(username=marketer.username)[1]


def get(client, path, token):
    return client.get(f"/api/v1/{path}", HTTP_AUTHORIZATION=f"Bearer {token}")


def ingest(lead, type, at, **fields):
    events.event_ingest(event=NewEvent(type=type, occurred_at=at, lead_id=lead.pk, **fields))


def test_lead_document_has_the_score_decayed_to_now_and_contributions_that_sum_to_it(client, token):
    account = AccountFactory(domain="initech.example", name="Initech")
    lead = LeadFactory(email="ana@example.com", account=account)
    for n in range(3):
        ingest(lead, "form_submit", day(n), campaign="spring")
    ingest(lead, "custom", day(3), name="Trial Started")  # 105: sales-ready
    body = get(client, "leads/ana@example.com", token).json()
    # long after day 3 the score has decayed to the floor, half of T = 100
    assert body["score"] == 50 and body["contributions_total"] == 50
    assert body["stage"] == 4 and body["stage_label"] == "Sales-ready (MQL)"
    assert body["account"]["domain"] == "initech.example"
    points = [line["points"] for line in body["contributions"]]
    assert points[:4] == [25, 25, 25, 30]
    assert points[4] == pytest.approx(-10.5)  # first tick, day 33: 105 × 10 %
    assert sum(points) == pytest.approx(body["score"])
    assert body["contributions"][0]["event"]["campaign"] == "spring"


def test_account_document_lists_members_and_top_contributors(client, token):
    account = AccountFactory(domain="initech.example")
    leads = [LeadFactory(account=account) for _ in range(3)]
    recent = services.timezone.now() - timedelta(days=1)
    for lead, forms in zip(leads, (1, 3, 2)):
        for n in range(forms):
            ingest(lead, "form_submit", recent + timedelta(minutes=n))
    body = get(client, "accounts/Initech.example", token).json()
    assert (body["score"], body["member_count"], body["engaged_members"], body["threshold"]) == (
        150,
        3,
        3,
        200,
    )
    assert [m["score"] for m in body["top_contributors"]] == [75, 50, 25]
    assert body["is_sales_ready"] is False


def test_read_api_needs_a_bearer_token(client, spec_model):
    LeadFactory(email="ana@example.com")
    response = client.get("/api/v1/leads/ana@example.com")
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert get(client, "leads/ana@example.com", "ls_wrong").status_code == 401


def test_a_write_key_is_not_a_read_token(client, spec_model):
    from leads.ingest.credentials import write_key_create

    LeadFactory(email="ana@example.com")
    assert get(client, "leads/ana@example.com", write_key_create(name="Web")[1]).status_code == 401


def test_a_rep_token_is_refused(client, spec_model):
    rep = RepFactory(username="rep1")
    secret = api_token_create(username=rep.username)[1]
    LeadFactory(email="ana@example.com", owner=rep)
    assert get(client, "leads/ana@example.com", secret).status_code == 403


def test_unknown_lead_or_account_is_404_json(client, token):
    response = get(client, "leads/nobody@example.com", token)
    assert response.status_code == 404 and response.json()["field"] == "email"
    assert get(client, "accounts/nowhere.example", token).status_code == 404


def test_create_api_token_prints_the_token_last_and_creates_a_marketer(client, spec_model):
    out = StringIO()
    call_command("create_api_token", "crm-bot", stdout=out)
    secret = out.getvalue().split()[-1]
    user = ApiToken.objects.get().user
    assert user.username == "crm-bot" and is_marketer(user)
    LeadFactory(email="ana@example.com")
    assert get(client, "leads/ana@example.com", secret).status_code == 200


def test_create_write_key_prints_the_key_last_and_it_authenticates(client, spec_model):
    out = StringIO()
    call_command("create_write_key", "Mobile app", stdout=out)
    secret = out.getvalue().split()[-1]
    from tests.leads.test_tracking_api import post, track

    assert post(client, "track", track(), secret).status_code == 200
    assert Lead.objects.get(user_id="u1").events.get().source == "Mobile app"


def test_admin_shows_a_new_write_key_once(client, spec_model):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("boss", "boss@example.com", "correct horse battery")
    client.force_login(admin)
    response = client.post("/admin/leads/writekey/add/", {"name": "Website", "is_active": "on"}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    secret = next(word for text in shown for word in text.split() if word.startswith("wk_"))
    from leads.ingest.credentials import write_key_find

    assert write_key_find(secret).name == "Website"
    assert secret not in client.get("/admin/leads/writekey/").content.decode()
