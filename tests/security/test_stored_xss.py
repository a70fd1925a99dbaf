"""Stored XSS: markup sent as tracked data (names, titles, company names, event
names, URLs including javascript:, referrers, properties), tags and segment names is shown
escaped on every page that shows it, and never becomes a javascript: link."""

import base64

import pytest
from django.urls import reverse

from leads.ingest import credentials, rate_limit
from leads.models import Account, Lead
from leads.workspace.filters import parse_filters
from leads.workspace.segments import segment_create
from leads.workspace.tags import lead_tag_add

pytestmark = pytest.mark.django_db

SCRIPT = "<script>alert('xss')</script>"
IMAGE = "<img src=x onerror=alert(1)>"
JS_URL = "javascript:alert(document.cookie)"
RAW_MARKUP = ("<script>alert(", "<img src=x onerror=")  # as tags; escaped text is harmless


def track(client, secret, path, message):
    auth = "Basic " + base64.b64encode(f"{secret}:".encode()).decode()
    response = client.post(
        f"/api/v1/{path}", message, content_type="application/json", HTTP_AUTHORIZATION=auth
    )
    assert response.status_code == 200, response.content
    return response


@pytest.fixture
def hostile_lead(client, spec_model):
    """A lead whose every tracked text field carries markup, sent through the real API."""
    rate_limit.reset()
    _, secret = credentials.write_key_create(name="Website")
    user = {"userId": "evil-1"}
    track(
        client,
        secret,
        "identify",
        {
            **user,
            "traits": {
                "email": "evil@example.com",
                "name": f"Eve {SCRIPT}",
                "title": IMAGE,
                "company": {"name": f"Evil Corp {SCRIPT}", "website": "evil.example.com"},
            },
        },
    )
    track(
        client,
        secret,
        "group",
        {**user, "groupId": "g-1", "traits": {"name": f"Group {IMAGE}", "website": "evil.example.com"}},
    )
    track(
        client,
        secret,
        "track",
        {
            **user,
            "event": f"Trial Started {SCRIPT}",
            "properties": {"url": JS_URL, "referrer": JS_URL, "note": IMAGE},
        },
    )
    # utm campaigns reach the stage-change log and the dashboard's "top movers".
    track(
        client,
        secret,
        "track",
        {
            **user,
            "event": "Form Submitted",
            "context": {"campaign": {"name": SCRIPT}},
            "properties": {"url": f"https://example.com/?q={SCRIPT}", "referrer": IMAGE},
        },
    )
    track(
        client, secret, "track", {**user, "event": "Form Submitted", "context": {"campaign": {"name": IMAGE}}}
    )
    track(
        client,
        secret,
        "page",
        {**user, "name": SCRIPT, "properties": {"url": JS_URL, "referrer": JS_URL, "title": IMAGE}},
    )
    lead = Lead.objects.get(user_id="evil-1")
    lead_tag_add(lead=lead, name="R&D #1")  # tag names refuse < and > at input; & must still be escaped
    segment_create(name=f"Seg {SCRIPT}", description=IMAGE, lead_filter=parse_filters({"score_min": "0"}))
    from tests.factories import SurveyFactory

    SurveyFactory(name=f"Survey {SCRIPT}")
    return lead


def pages(lead):
    account = Account.objects.order_by("pk").first()
    return {
        "home": reverse("home"),
        "lead list": reverse("leads:list"),
        "lead page": reverse("leads:detail", args=[lead.pk]),
        "accounts": reverse("leads:accounts"),
        "account page": reverse("leads:account", args=[account.pk]),
        "segments": reverse("leads:segments"),
        "dashboard": reverse("leads:dashboard"),
        "status": reverse("leads:status"),
        "feedback": reverse("models_review:feedback"),
        "tally": reverse("leads:tally"),
        "nps dashboard": reverse("surveys:dashboard"),
        "sheet": reverse("models_review:sheet"),
    }


def test_tracked_markup_is_escaped_on_every_page(client, marketer, hostile_lead):
    assert hostile_lead.score > 0 and "<script>" in hostile_lead.name  # stored as sent, escaped on output
    from leads.models import StageChange

    assert StageChange.objects.filter(
        lead=hostile_lead, campaign__in=[SCRIPT, IMAGE]
    ).exists()  # "top movers"
    client.force_login(marketer)
    for name, url in pages(hostile_lead).items():
        response = client.get(url)
        assert response.status_code == 200, name
        html = response.content.decode()
        for markup in RAW_MARKUP:
            assert markup not in html, f"{name} shows {markup!r} unescaped"
        assert 'href="javascript:' not in html.lower() and "href='javascript:" not in html.lower(), name


def test_escaped_markup_is_visible_as_text_on_the_lead_page(client, marketer, hostile_lead):
    client.force_login(marketer)
    html = client.get(reverse("leads:detail", args=[hostile_lead.pk])).content.decode()
    assert "Eve &lt;script&gt;alert(&#x27;xss&#x27;)&lt;/script&gt;" in html
