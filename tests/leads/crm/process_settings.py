"""Settings for a `manage.py` child process of a test: the project's settings, on the test's
database file (LEADSCORE_TEST_DB_NAME), so a real `manage.py crm_push` can be killed mid-run."""

import os

from scoring_site.settings import *  # noqa: F403

DATABASES["default"]["NAME"] = os.environ["LEADSCORE_TEST_DB_NAME"]  # noqa: F405
