"""With the database unreachable, people get a plain 503 page and API clients JSON 503."""

import json
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

PROBE = """
import django, json
django.setup()
from django.test import Client
client = Client(raise_request_exception=False)
client.cookies["sessionid"] = "a-signed-in-session"  # so the session (in the database) must be read
results = {}
for path in ("/", "/leads/1/", "/api/v1/track", "/health/"):
    response = client.get(path)
    results[path] = [response.status_code, response.get("Content-Type", ""), response.content.decode()[:400]]
response = Client(raise_request_exception=False).post(
    "/signin/", {"username": "marketer", "password": "x" * 12}
)
results["POST /signin/"] = [
    response.status_code, response.get("Content-Type", ""), response.content.decode()[:400]
]
print(json.dumps(results))
"""


def test_unreachable_database_gives_503_pages_and_json(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "scoring_site.settings",
        "LEADSCORE_VAR_DIR": str(tmp_path),
        "DATABASE_URL": "postgres://postgres@127.0.0.1:9/unreachable?connect_timeout=2",
    }
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=Path(settings.BASE_DIR),
    )
    assert result.returncode == 0, result.stderr
    results = json.loads(result.stdout.strip().splitlines()[-1])
    for path in ("POST /signin/", "/", "/leads/1/", "/health/"):
        status, content_type, body = results[path]
        assert status == 503, (path, status, body)
        assert "temporarily unavailable" in body and "Traceback" not in body
    status, content_type, body = results["/api/v1/track"]
    assert status in (503, 405)  # the tracking endpoint may refuse GET before touching the database
    if status == 503:
        assert content_type == "application/json" and json.loads(body)["success"] is False
