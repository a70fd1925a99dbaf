"""JSON answers of the machine API: every error names the field and the reason."""

from django.http import JsonResponse


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
