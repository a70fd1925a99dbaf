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

if pause_file := os.environ.get("LEADSCORE_TEST_PAUSE_FILE"):
    # This worker stops inside its first chunk's transaction, writes done but not committed,
    # and says so through the file: the test kills it there, mid-chunk.
    import time  # noqa: E402

    replay_chunk = recalculation.replay_chunk

    def replay_then_pause(**kwargs):
        result = replay_chunk(**kwargs)
        with open(pause_file, "w") as marker:
            marker.write(str(os.getpid()))
        time.sleep(120)
        return result

    recalculation.replay_chunk = replay_then_pause

from tests.redis_fixtures import run_worker  # noqa: E402

run_worker(queue(sys.argv[1]).connection, sys.argv[1])
