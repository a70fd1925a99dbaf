import gc
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "scoring_site.settings")
application = get_wsgi_application()

# Everything loaded so far (Django, the apps, their modules) lives as long as the process.
# Frozen, the collector stops rescanning those ~90,000 objects in every full collection,
# which a 500-message tracking batch triggers every few requests (≈50 ms each, measured).
gc.freeze()
