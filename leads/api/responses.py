"""JSON answers of the machine API: every error names the field and the reason."""

from functools import wraps

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt


class BadRequest(Exception):
    def __init__(
        self, message: str, *, code: str = "bad_request", field: str | None = None, status: int = 400
    ):
        super().__init__(message)
        self.message, self.code, self.field, self.status = message, code, field, status


def error(message: str, *, status: int, code: str, field: str | None = None, **extra) -> JsonResponse:
    # Segment's clients read "code" and "message" from an error body.
    body = {
        "success": False,
        "code": code,
        "message": message,
        **({"field": field} if field else {}),
        **extra,
    }
    return JsonResponse(body, status=status)


def api_methods(*methods: str):
    """Allow only `methods`, answering any other with a JSON 405. CSRF does not apply: no cookie
    authenticates these calls (a write key or a Bearer token does), so a POST to a read URL
    gets this JSON answer rather than the browser's CSRF page."""

    def decorate(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if request.method not in methods:
                response = error(
                    f"{request.method} is not allowed here; use {' or '.join(methods)}.",
                    status=405,
                    code="method_not_allowed",
                )
                response["Allow"] = ", ".join(methods)
                return response
            return view(request, *args, **kwargs)

        return wrapper

    return decorate
