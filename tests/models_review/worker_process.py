"""A real RQ worker in its own process, on the test database, for the SIGKILL test:
`python -m tests.models_review.worker_process QUEUE` with LEADSCORE_TEST_DB_NAME set."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scoring_site.settings")
django.setup()

from django.db import connections  # noqa: E402

connections["default"].settings_dict["NAME"] = os.environ["LEADSCORE_TEST_DB_NAME"]

from models_review import recalculation  # noqa: E402
from scoring_site.queueing import queue  # noqa: E402

recalculation.CHUNK_SIZE = 1000  # many chunks, so the SIGKILL lands in the middle of the run
from tests.redis_fixtures import run_worker  # noqa: E402

run_worker(queue(sys.argv[1]).connection, sys.argv[1])
