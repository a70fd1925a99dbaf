import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from tests.factories import MarketerFactory

pytestmark = pytest.mark.django_db

GOOD = "correct horse battery"


def sign_in(client, username, password, address="10.0.0.1"):
    return client.post("/signin/", {"username": username, "password": password}, REMOTE_ADDR=address)


def test_sign_in_is_throttled_after_five_failures_for_a_username(client):
    MarketerFactory(username="mia")
    for _ in range(5):
        assert sign_in(client, "mia", "wrong").status_code == 200
    refused = sign_in(client, "mia", GOOD)
    assert refused.status_code == 429
    assert b"Too many failed sign-ins" in refused.content
    assert "_auth_user_id" not in client.session


def test_throttling_counts_per_address_across_usernames(client):
    MarketerFactory(username="noor")
    for n in range(20):
        sign_in(client, f"guess{n}", "wrong", address="10.9.9.9")
    assert sign_in(client, "noor", GOOD, address="10.9.9.9").status_code == 429
    assert sign_in(client, "noor", GOOD, address="10.1.1.1").status_code == 302


def test_a_successful_sign_in_clears_the_username_counter(client):
    MarketerFactory(username="ole")
    for _ in range(4):
        sign_in(client, "ole", "wrong")
    assert sign_in(client, "ole", GOOD).status_code == 302
    client.post("/signout/")
    for _ in range(4):
        sign_in(client, "ole", "wrong")
    assert sign_in(client, "ole", GOOD).status_code == 302


def test_session_is_renewed_at_sign_in_and_ended_at_sign_out(client):
    MarketerFactory(username="pia")
    client.get("/signin/")
    client.cookies[settings.SESSION_COOKIE_NAME] = "attacker-chosen-session-id"
    sign_in(client, "pia", GOOD)
    session_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert session_key != "attacker-chosen-session-id"
    assert client.get("/").status_code == 200
    client.post("/signout/")
    from django.contrib.sessions.models import Session

    assert not Session.objects.filter(session_key=session_key).exists()
    assert client.get("/").status_code == 302


def test_sign_out_needs_a_post_with_csrf(client):
    from django.test import Client

    MarketerFactory(username="quin")
    strict = Client(enforce_csrf_checks=True)
    strict.post("/signin/", {"username": "quin", "password": GOOD})  # no token: refused
    assert "_auth_user_id" not in strict.session
    assert client.get("/signout/").status_code == 405


def test_security_headers_are_present(client):
    response = client.get("/signin/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "object-src 'none'" in response["Content-Security-Policy"]


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    env = {
        **os.environ,
        "SECRET_KEY": "x7!" + "k3Q9vLm2" * 8,
        "DEBUG": "false",
        "ALLOWED_HOSTS": "leads.example.com",
        "SECURE_COOKIES": "true",
        "SECURE_SSL_REDIRECT": "true",
        "SECURE_HSTS_SECONDS": "31536000",
        "LEADSCORE_VAR_DIR": str(tmp_path),
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # set by the browser tests' conftest, never in deployment
    manage = Path(settings.BASE_DIR) / "manage.py"
    result = subprocess.run(
        [sys.executable, str(manage), "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
