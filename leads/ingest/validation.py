"""The one set of checks for machine input: tracking messages, CSV rows and model files.

Anyone who has a write key can send anything, and a CSV comes from whatever a spreadsheet
wrote. Every value these paths store passes here first, so a value that could not be
stored or rendered (a lone surrogate, a NUL, a thousand-digit integer, JSON nested a
thousand levels, an instant before 1970 or one that overflows on conversion to UTC) is
refused with the field that holds it, before anything is written."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

# Deeper than any real tracking payload (Segment's own context is 3 levels) and far below
# the depth at which a database's JSON functions or Python's encoder give up.
MAX_DEPTH = 32
# Beyond 2**53 a float no longer holds every integer; nothing a lead does is counted that high.
MAX_ABS_NUMBER = 1e15
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
MAX_FUTURE = timedelta(hours=24)


class InvalidValue(ValueError):
    """A value that cannot be accepted; `field` is its path (`properties.percent`, `timestamp`)."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


def check_text(value: str, field: str) -> str:
    """A string that can be stored: encodable as UTF-8 (no lone surrogate), no NUL."""
    if "\x00" in value:
        raise InvalidValue(field, "contains a NUL character (\\u0000), which cannot be stored")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(
            field, "contains a lone UTF-16 surrogate, which is not valid Unicode text"
        ) from None
    return value


def check_number(value, field: str) -> float:
    """A finite number within ±1e15; bools are not numbers."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidValue(field, "must be a number")
    if isinstance(value, int):
        if abs(value) > MAX_ABS_NUMBER:
            raise InvalidValue(field, f"must be between -{MAX_ABS_NUMBER:g} and {MAX_ABS_NUMBER:g}")
        return float(value)
    if not math.isfinite(value):
        raise InvalidValue(field, "must be a finite number (NaN and Infinity are not allowed)")
    if abs(value) > MAX_ABS_NUMBER:
        raise InvalidValue(field, f"must be between -{MAX_ABS_NUMBER:g} and {MAX_ABS_NUMBER:g}")
    return value


def check_json(value, field: str, *, max_depth: int = MAX_DEPTH) -> None:
    """Walk a decoded JSON value: every key and string storable, every number in range,
    containers nested at most `max_depth` deep. Iterative, so the walk itself cannot overflow."""
    stack = [(value, field, 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            check_text(item, path)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            check_number(item, path)
        elif isinstance(item, (dict, list)):
            if depth >= max_depth:
                raise InvalidValue(path, f"nested more than {max_depth} levels deep")
            if isinstance(item, dict):
                for key, child in item.items():
                    child_path = f"{path}.{key}" if path else str(key)
                    check_text(str(key), child_path)
                    stack.append((child, child_path, depth + 1))
            else:
                stack.extend((child, f"{path}[{index}]", depth + 1) for index, child in enumerate(item))
        elif item is not None and not isinstance(item, bool):
            raise InvalidValue(path, "must be a JSON value")


def check_instant(value: datetime, field: str, *, now: datetime) -> datetime:
    """An aware instant (naive means UTC) in UTC, between 1970 and 24 hours from now."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    try:
        value = value.astimezone(UTC)
    except OverflowError:
        raise InvalidValue(field, "is outside the range of dates that can be stored") from None
    if value < EARLIEST:
        raise InvalidValue(field, "is before 1970-01-01; events must have happened since then")
    if value > now + MAX_FUTURE:
        raise InvalidValue(field, "more than 24 hours in the future")
    return value


def parse_instant(text: str, field: str, *, now: datetime) -> datetime:
    """An ISO 8601 date-time string → a checked UTC instant."""
    check_text(text, field)
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidValue(
            field, f"cannot read {text[:40]!r} as an ISO 8601 date-time such as 2026-01-31T09:30:00Z"
        ) from None
    return check_instant(parsed, field, now=now)


def bare_domain(value: str) -> str:
    """`https://www.Example.com/about` → `example.com`."""
    value = value.strip().lower()
    for prefix in ("https://", "http://"):
        value = value.removeprefix(prefix)
    return value.split("/", 1)[0].removeprefix("www.").strip()


def check_domain(value: str, field: str) -> str:
    """A domain that is not blank once its scheme, path and `www.` are taken off."""
    check_text(value, field)
    domain = bare_domain(value)
    if not domain:
        raise InvalidValue(field, f"{value[:60]!r} has no domain once the scheme and path are removed")
    if any(character.isspace() for character in domain) or len(domain) > 253:
        raise InvalidValue(field, f"{value[:60]!r} is not a domain such as example.com")
    return domain


def check_identifier(value: str, field: str) -> str:
    """An identifier (userId, groupId, …) stripped of surrounding blanks; blank means absent."""
    return check_text(value, field).strip()
