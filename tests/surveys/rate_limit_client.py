"""A separate process posting to a public survey link, as one more gunicorn worker would
see it: `python -m tests.surveys.rate_limit_client DB_NAME URL COUNT START_AT`."""

import json
import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scoring_site.settings")


def main(db_name: str, url: str, count: int, start_at: float) -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["NAME"] = db_name  # the test database, read on first connect
    from django.test import Client

    client = Client()
    time.sleep(max(0.0, start_at - time.time()))  # all processes post at the same moment
    statuses = [
        client.post(url, {"score": "10"}, REMOTE_ADDR="203.0.113.50").status_code for _ in range(count)
    ]
    print(json.dumps(statuses))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]))
