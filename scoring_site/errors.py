"""Error pages. A database outage anywhere in the request (view, middleware, template)
becomes a plain 503 page, or JSON for the API, never a traceback."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

RETRY_AFTER_SECONDS = "30"
_OUTAGE_ERRORS = (OperationalError, InterfaceError)
_BUG_MARKERS = ("no such table", "no such column", "syntax error")


def is_database_outage(error) -> bool:
    # SQLite reports a few programming mistakes as OperationalError; those are bugs, not outages.
    return isinstance(error, _OUTAGE_ERRORS) and not any(
        marker in str(error).lower() for marker in _BUG_MARKERS
    )


def service_unavailable(request):
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"success": False, "error": "The database is unavailable; retry shortly."}, status=503
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def server_error(request):
    if is_database_outage(sys.exc_info()[1]):
        return service_unavailable(request)
    if request.path.startswith("/api/"):
        return JsonResponse({"success": False, "error": "Internal error; it has been logged."}, status=500)
    return HttpResponse(render_to_string("500.html"), status=500)
