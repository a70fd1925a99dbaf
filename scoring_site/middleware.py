"""A database outage gives people a plain 503 page (and API clients JSON), never a traceback."""
import logging

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import JsonResponse
from django.template.loader import render_to_string
from django.http import HttpResponse

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "30"


class ServiceUnavailableMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, (OperationalError, InterfaceError)) or _is_data_error(exception):
            return None
        log.error("Database unavailable while serving %s: %s", request.path, exception)
        if request.path.startswith("/api/"):
            response = JsonResponse({"success": False, "error": "The database is unavailable; retry shortly."}, status=503)
        else:
            response = HttpResponse(render_to_string("503.html"), status=503)
        response["Retry-After"] = RETRY_AFTER_SECONDS
        return response


def _is_data_error(exception: DatabaseError) -> bool:
    # SQLite reports a few programming mistakes as OperationalError; those are bugs, not outages.
    text = str(exception).lower()
    return "no such table" in text or "no such column" in text or "syntax error" in text
