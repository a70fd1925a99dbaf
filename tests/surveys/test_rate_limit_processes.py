"""The rate limit holds across web worker processes: three processes post at the same moment."""

import json
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from surveys.models import Response
from tests.factories import SurveyFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_twenty_per_minute_holds_across_processes(spec_model):
    survey = SurveyFactory()
    url = reverse("surveys:public", args=[survey.public_token])
    start_at = time.time() + 8  # after every process has loaded Django
    command = [
        sys.executable,
        "-m",
        "tests.surveys.rate_limit_client",
        str(connection.settings_dict["NAME"]),
        url,
        "10",
        str(start_at),
    ]
    processes = [
        subprocess.Popen(
            command, cwd=settings.BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    statuses = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err[-2000:]
        statuses += json.loads(out.strip().splitlines()[-1])
    assert statuses.count(302) == 20, statuses
    assert statuses.count(429) == 10, statuses
    assert Response.objects.count() == 20
