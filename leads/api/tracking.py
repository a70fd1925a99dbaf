"""The tracking API at /api/v1/ (§10): Segment-compatible endpoints, the write key as HTTP Basic
username. JSON in, JSON out; errors name the field and the reason. CSRF does not apply: no
cookie authenticates these calls."""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse
from django.utils import timezone

from leads.api.responses import BadRequest, api_methods, error
from leads.ingest import credentials, rate_limit
from leads.ingest.messages import (
    MAX_BATCH_BYTES,
    MAX_MESSAGE_BYTES,
    MessageError,
    check_message,
    messages_apply,
)
from leads.ingest.validation import InvalidValue, check_text

SIZE_LIMITS = {
    "message": (MAX_MESSAGE_BYTES, "32 KB limit for one message"),
    "batch": (MAX_BATCH_BYTES, "500 KB limit for a batch"),
}


def tracking_endpoint(kind: str):
    """Authenticate the write key and decode the (possibly gzipped) JSON body."""

    def decorate(view):
        @api_methods("POST")
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            try:
                body = _decoded_body(request, *SIZE_LIMITS[kind])
                write_key = credentials.write_key_find(_basic_username(request) or _body_write_key(body))
                if write_key is None:
                    return error(
                        "Unknown or disabled write key. Send the source's write key as the HTTP Basic "
                        "username.",
                        status=401,
                        code="unauthorized",
                    )
                return view(request, body, write_key, *args, **kwargs)
            except BadRequest as problem:
                return error(problem.message, status=problem.status, code=problem.code, field=problem.field)

        return wrapper

    return decorate


def _decoded_body(request, limit: int, limit_name: str) -> dict:
    try:
        raw = request.body
    except RequestDataTooBig:
        raise BadRequest(
            f"The body is larger than the {limit_name}.", code="too_large", field="body"
        ) from None
    if request.headers.get("Content-Encoding", "").lower() == "gzip":
        raw = _gunzip(raw, limit)
    if len(raw) > limit:
        raise BadRequest(f"The body is larger than the {limit_name}.", code="too_large", field="body")
    try:
        body = json.loads(raw)
    except ValueError as problem:
        # Also the decoder's refusal of an integer beyond Python's 4,300-digit conversion limit.
        raise BadRequest(
            f"The body is not valid JSON: {str(problem)[:200]}.", code="invalid_json", field="body"
        ) from None
    except RecursionError:
        # e.g. 100,000 nested arrays: Python's decoder gives up; that is the client's error, not ours.
        raise BadRequest("The body's JSON is nested too deeply.", code="invalid_json", field="body") from None
    if not isinstance(body, dict):
        raise BadRequest("The body must be a JSON object.", code="invalid_json", field="body")
    return body


def _gunzip(raw: bytes, limit: int) -> bytes:
    # Bounded, so a small gzip bomb cannot expand into memory beyond the limit.
    try:
        inflater = zlib.decompressobj(wbits=31)
        return inflater.decompress(raw, limit + 1)
    except zlib.error:
        raise BadRequest(
            "Content-Encoding says gzip but the body is not gzip data.", code="invalid_gzip", field="body"
        ) from None


def _basic_username(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""
    return decoded.partition(":")[0]


def _body_write_key(body: dict) -> str:
    value = body.get("writeKey")
    if not isinstance(value, str):
        return ""
    try:
        return check_text(value, "writeKey")
    except InvalidValue:
        return ""  # no stored key holds a NUL or a lone surrogate


def rate_limited(write_key, messages: int) -> JsonResponse | None:
    wait = rate_limit.take(write_key.pk, messages)
    if not wait:
        return None
    allowance = rate_limit.events_per_minute()
    advice = (
        f"a batch of {messages:,} can never fit; send at most {allowance:,} messages per batch"
        if messages > allowance
        else "retry after the Retry-After seconds"
    )
    response = error(
        f"Source “{write_key.name}” may send {allowance:,} messages a minute; {advice}.",
        status=429,
        code="rate_limited",
    )
    response["Retry-After"] = rate_limit.retry_after_header(wait)
    return response


def _single_message(message_type: str):
    @tracking_endpoint("message")
    def view(request, body, write_key):
        if limited := rate_limited(write_key, 1):
            return limited
        try:
            message = check_message(body, type=message_type)
        except MessageError as problem:
            return error(str(problem), status=400, code="invalid_message", field=problem.field)
        result = messages_apply(messages=[(0, message)], source=write_key.name)
        if result.rejected:
            problem = result.rejected[0]
            return error(str(problem), status=400, code="invalid_message", field=problem.field)
        return JsonResponse({"success": True})

    view.__name__ = message_type
    return view


identify = _single_message("identify")
track = _single_message("track")
page = _single_message("page")
screen = _single_message("screen")
group = _single_message("group")
alias = _single_message("alias")


@tracking_endpoint("batch")
def batch(request, body, write_key):
    messages = body.get("batch")
    if not isinstance(messages, list):
        return error(
            'batch: the body needs a "batch" list of messages.',
            status=400,
            code="invalid_batch",
            field="batch",
        )
    if limited := rate_limited(write_key, len(messages)):
        return limited
    now, checked, rejected = timezone.now(), [], {}
    for index, raw in enumerate(messages):
        try:
            checked.append((index, check_message(raw, now=now)))
        except MessageError as problem:
            rejected[index] = problem
    if checked:
        rejected.update(messages_apply(messages=checked, source=write_key.name).rejected)
    listed = [{"index": index, **problem.as_dict()} for index, problem in sorted(rejected.items())]
    if messages and len(rejected) == len(messages):
        return error(
            "batch: every message was rejected.",
            status=400,
            code="invalid_batch",
            field="batch",
            rejected=listed,
        )
    return JsonResponse({"success": True, **({"rejected": listed} if listed else {})})
