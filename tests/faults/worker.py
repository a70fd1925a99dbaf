"""A long-running forking RQ worker (what `manage.py rqworker` runs) on every project queue, on
the test database:
`python -m tests.faults.worker NAME` with LEADSCORE_TEST_DB_NAME and REDIS_URL set."""

import os
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scoring_site.settings")
django.setup()

from django.db import connections  # noqa: E402

connections["default"].settings_dict["NAME"] = os.environ["LEADSCORE_TEST_DB_NAME"]

from rq import Worker  # noqa: E402

from scoring_site.queueing import queue  # noqa: E402
from tests.redis_fixtures import QUEUE_NAMES  # noqa: E402

queues = [queue(name) for name in QUEUE_NAMES]
Worker(queues, connection=queues[0].connection, name=sys.argv[1]).work(burst=False, with_scheduler=False)
