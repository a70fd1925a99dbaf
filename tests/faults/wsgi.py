"""The project's WSGI application on the test database, for gunicorn in the load test."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scoring_site.settings")
django.setup()

from django.db import connections  # noqa: E402

connections["default"].settings_dict["NAME"] = os.environ["LEADSCORE_TEST_DB_NAME"]

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
