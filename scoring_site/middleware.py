"""A database outage inside a view gives a plain 503 (see scoring_site.errors for the rest)."""

import logging

from scoring_site.errors import is_database_outage, service_unavailable

log = logging.getLogger(__name__)


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_outage(exception):
            return None
        log.error("Database unavailable while serving %s: %s", request.path, exception)
        return service_unavailable(request)
