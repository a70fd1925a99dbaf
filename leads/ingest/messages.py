"""Segment tracking-spec messages → leads, accounts and events (SPEC §10).

`check_message` validates one message and says which field is wrong (check before do);
`messages_apply` stores a list of checked messages in one transaction and reports the
ones the database refused (e.g. an email that belongs to another lead) by index."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import DataError, IntegrityError, transaction
from django.utils import timezone

from leads.ingest.events import NewEvent, events_ingest, identity_link
from leads.ingest.validation import (
    InvalidValue,
    check_domain,
    check_identifier,
    check_json,
    check_number,
    parse_instant,
)
from leads.models import Identity, Lead
from leads.services import IdentityConflict, account_upsert, accounts_rollup, lead_upsert

logger = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 32 * 1024  # Segment's own limits
MAX_BATCH_BYTES = 500 * 1024
MAX_ID_LENGTH = 200
MAX_TEXT_LENGTH = 200
MESSAGE_TYPES = ("identify", "track", "page", "screen", "group", "alias")

TRACK_EVENT_TYPES = {
    "Video Watched": "video_play",
    "Video Content Playing": "video_play",
    "Video Content Completed": "video_play",
    "Form Submitted": "form_submit",
    "Document Downloaded": "download",
    "Email Opened": "email_open",
    "Email Link Clicked": "email_click",
    "Webinar Attended": "webinar_attend",
    "Signed In": "app_login",
}
VIDEO_SPEC_EVENTS = ("Video Content Playing", "Video Content Completed")
# Built once: json.dumps(allow_nan=False) builds a new encoder for every message.
_STRICT_JSON = json.JSONEncoder(allow_nan=False)


class MessageError(ValueError):
    """A message the API refuses; `field` is the JSON path a developer should look at."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason

    def as_dict(self) -> dict:
        return {"field": self.field, "reason": self.reason}


@dataclass
class Message:
    type: str
    user_id: str
    anonymous_id: str
    message_id: str
    timestamp: datetime
    raw: dict
    event: NewEvent | None = None  # page and track
    traits: dict = field(default_factory=dict)


# --- checking ---------------------------------------------------------------------------


def check_message(raw, *, type: str | None = None, now: datetime | None = None) -> Message:
    if not isinstance(raw, dict):
        raise MessageError("message", "must be a JSON object")
    try:
        check_json(raw, "")
    except InvalidValue as problem:
        raise MessageError(problem.field or "message", problem.reason) from None
    try:
        # Measured as Segment's own library measures it before sending.
        encoded = _STRICT_JSON.encode(raw)
    except ValueError:
        raise MessageError("message", "contains NaN or Infinity, which JSON does not allow") from None
    if len(encoded) > MAX_MESSAGE_BYTES:
        raise MessageError("message", "larger than the 32 KB limit for one message")
    now = now or timezone.now()
    message_type = type or raw.get("type")
    if message_type not in MESSAGE_TYPES:
        raise MessageError("type", f"must be one of {', '.join(MESSAGE_TYPES)}")
    user_id = _identifier(raw, "userId")
    anonymous_id = _identifier(raw, "anonymousId")
    if message_type != "alias" and not user_id and not anonymous_id:
        raise MessageError("userId", "a message needs a userId or an anonymousId")
    message = Message(
        type="page" if message_type == "screen" else message_type,
        user_id=user_id,
        anonymous_id=anonymous_id,
        message_id=_identifier(raw, "messageId"),
        timestamp=_timestamp(raw, now),
        raw=raw,
    )
    _CHECKS[message.type](message)
    return message


def _identifier(raw: dict, name: str) -> str:
    value = raw.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise MessageError(name, "must be a string")
    value = check_identifier(str(value), name)  # already checked as text: cannot fail here
    if len(value) > MAX_ID_LENGTH:
        raise MessageError(name, f"longer than {MAX_ID_LENGTH} characters")
    return value


def _timestamp(raw: dict, now: datetime) -> datetime:
    value = raw.get("timestamp")
    if value in (None, ""):
        return now
    if not isinstance(value, str):
        raise MessageError("timestamp", "must be an ISO 8601 string such as 2026-01-31T09:30:00Z")
    try:
        return parse_instant(value, "timestamp", now=now)
    except InvalidValue as problem:
        raise MessageError(problem.field, problem.reason) from None


def _object(raw: dict, name: str, path: str | None = None) -> dict:
    value = raw.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MessageError(path or name, "must be a JSON object")
    return value


def _text(value, path: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise MessageError(path, "must be a string")
    if len(value) > max_length:
        raise MessageError(path, f"longer than {max_length} characters")
    return value


def _number(value, path: str) -> float | None:
    if value is None:
        return None
    try:
        return check_number(value, path)
    except InvalidValue as problem:
        raise MessageError(problem.field, problem.reason) from None


def _domain(value: str, path: str) -> str:
    try:
        return check_domain(value, path)
    except InvalidValue as problem:
        raise MessageError(problem.field, problem.reason) from None


def _check_identify(message: Message) -> None:
    traits = _object(message.raw, "traits") or _object(
        _object(message.raw, "context"), "traits", "context.traits"
    )
    email = _text(traits.get("email"), "traits.email", 254).strip()
    if email:
        try:
            validate_email(email)
        except ValidationError:
            raise MessageError("traits.email", f"{email[:60]!r} is not a valid email address") from None
    name = traits.get("name")
    if name is None and (traits.get("firstName") or traits.get("lastName")):
        name = " ".join(str(part) for part in (traits.get("firstName"), traits.get("lastName")) if part)
    company = traits.get("company")
    message.traits = {
        "email": email,
        "name": _text(name, "traits.name"),
        "title": _text(traits.get("title"), "traits.title"),
        "company": _company(company) if company is not None else None,
    }


def _company(company) -> dict | None:
    # A company trait is only a name unless it says its domain; accounts are keyed by domain.
    if not isinstance(company, dict):
        _text(company, "traits.company")
        return None
    domain = _text(company.get("domain") or company.get("website"), "traits.company.domain", 253)
    if not domain:
        return None
    return {
        "domain": _domain(domain, "traits.company.domain"),
        "name": _text(company.get("name"), "traits.company.name").strip(),
    }


def _check_group(message: Message) -> None:
    group_id = _identifier(message.raw, "groupId")
    if not group_id:
        raise MessageError("groupId", "a group call needs a groupId")
    traits = _object(message.raw, "traits")
    domain = _text(traits.get("domain") or traits.get("website"), "traits.domain", 253)
    message.traits = {
        "group_id": group_id,
        "name": _text(traits.get("name"), "traits.name").strip(),
        # Without a domain trait the groupId is the only stable key we have for the account.
        "domain": _domain(domain, "traits.domain") if domain.strip() else group_id.lower(),
    }


def _check_alias(message: Message) -> None:
    previous_id = _identifier(message.raw, "previousId")
    if not previous_id:
        raise MessageError("previousId", "an alias call needs the previousId to merge")
    if not message.user_id:
        raise MessageError("userId", "an alias call needs the userId to merge into")
    message.traits = {"previous_id": previous_id}


def _check_page(message: Message) -> None:
    properties = _object(message.raw, "properties")
    context = _object(message.raw, "context")
    page = _object(context, "page", "context.page")
    url = properties.get("url") if properties.get("url") is not None else page.get("url")
    message.event = _new_event(
        message,
        "page_view",
        _text(message.raw.get("name"), "name"),
        properties,
        _text(url, "properties.url", 8192),
    )


def _check_track(message: Message) -> None:
    name = _text(message.raw.get("event"), "event")
    if not name.strip():
        raise MessageError("event", "a track call needs the event name")
    properties = _object(message.raw, "properties")
    event_type = TRACK_EVENT_TYPES.get(name, "custom")
    if event_type == "video_play":
        properties = {**properties, "percent": _video_percent(name, properties)}
    page = _object(_object(message.raw, "context"), "page", "context.page")
    url = properties.get("url") if properties.get("url") is not None else page.get("url")
    message.event = _new_event(message, event_type, name, properties, _text(url, "properties.url", 8192))


def _video_percent(name: str, properties: dict) -> float:
    """Percent watched: given directly ("Video Watched") or from the video spec's
    position / total_length in seconds; a completed video without them is 100 %."""
    position = _number(properties.get("position"), "properties.position")
    total = _number(properties.get("total_length"), "properties.total_length")
    if name in VIDEO_SPEC_EVENTS and position is not None and total is not None:
        if total <= 0:
            raise MessageError("properties.total_length", "must be more than 0 seconds")
        percent, path = 100 * position / total, "properties.position"
    else:
        percent, path = _number(properties.get("percent"), "properties.percent"), "properties.percent"
        if percent is None:
            if name == "Video Content Completed":
                return 100.0
            raise MessageError(
                "properties.percent", "a video event needs percent (0–100) or position and total_length"
            )
    if not 0 <= percent <= 100:
        raise MessageError(path, f"percent watched must be between 0 and 100, got {percent:g}")
    return percent


def _new_event(message: Message, event_type: str, name: str, properties: dict, url: str) -> NewEvent:
    context = _object(message.raw, "context")
    campaign = _object(context, "campaign", "context.campaign").get("name") or properties.get("utm_campaign")
    return NewEvent(
        type=event_type,
        occurred_at=message.timestamp,
        anonymous_id=message.anonymous_id,
        idempotency_key=message.message_id,
        name=name,
        url=url,
        properties=properties,
        campaign=_text(campaign, "context.campaign.name"),
    )


_CHECKS = {
    "identify": _check_identify,
    "group": _check_group,
    "alias": _check_alias,
    "page": _check_page,
    "track": _check_track,
}


# --- applying -----------------------------------------------------------------------------


@dataclass
class ApplyResult:
    stored_events: int = 0
    duplicates: int = 0
    rejected: dict[int, MessageError] = field(default_factory=dict)


# A message whose own storage fails (a value the database refuses, arithmetic the engine cannot
# do) is rejected alone; a database that is down is not in this list and fails the request.
STORAGE_FAILURES = (DataError, IntegrityError, ValueError, ArithmeticError, RecursionError)
NOT_STORED = "could not be stored; the other messages of the batch were"


def messages_apply(*, messages: list[tuple[int, Message]], source: str) -> ApplyResult:
    """Store checked messages in order, in one transaction. Events are ingested in runs
    between identity calls, so a track after an identify in the same batch finds its lead."""
    result = ApplyResult()
    with transaction.atomic():
        pending: list[tuple[int, Message]] = []
        for index, message in messages:
            if message.event is not None:
                message.event.source = source
                pending.append((index, message))
                continue
            _flush(pending, result)
            pending = []
            try:
                with transaction.atomic():
                    _APPLY[message.type](message)
            except MessageError as error:
                result.rejected[index] = error
            except STORAGE_FAILURES:
                logger.exception("tracking message %s (%s) could not be stored", index, message.type)
                result.rejected[index] = MessageError("message", NOT_STORED)
        _flush(pending, result)
    return result


def _flush(pending: list[tuple[int, Message]], result: ApplyResult) -> None:
    """Store a run of events together; if that fails, one by one, so only the failing one is lost."""
    if not pending:
        return
    try:
        with transaction.atomic():
            stored, duplicates = _store_events([message for _, message in pending])
    except STORAGE_FAILURES:
        if len(pending) > 1:
            for item in pending:
                _flush([item], result)
            return
        index, message = pending[0]
        logger.exception("tracking message %s (%s) could not be stored", index, message.type)
        result.rejected[index] = MessageError("message", NOT_STORED)
        return
    result.stored_events += stored
    result.duplicates += duplicates


def _store_events(messages: list[Message]) -> tuple[int, int]:
    lead_ids = _lead_ids_for_users({m.user_id for m in messages if m.user_id})
    for message in messages:
        message.event.lead_id = lead_ids.get(message.user_id)
    ingested = events_ingest(events=[m.event for m in messages])
    _join_new_anonymous_ids(messages, lead_ids)
    return len(ingested.stored), ingested.duplicates


def _lead_ids_for_users(user_ids: set[str]) -> dict[str, int]:
    """userId → lead id; a userId seen for the first time becomes a lead (set-based)."""
    if not user_ids:
        return {}
    known = dict(Lead.objects.filter(user_id__any_of=list(user_ids)).values_list("user_id", "id"))
    missing = user_ids - known.keys()
    if missing:
        Lead.objects.bulk_create(
            [Lead(user_id=user_id) for user_id in sorted(missing)], ignore_conflicts=True
        )
        known.update(Lead.objects.filter(user_id__any_of=list(missing)).values_list("user_id", "id"))
    return known


def _join_new_anonymous_ids(messages: list[Message], lead_ids: dict[str, int]) -> None:
    # Clients send both ids after identify; the first time we see a pair, the visitor's
    # earlier anonymous history joins the lead (§10).
    pairs = {m.anonymous_id: lead_ids[m.user_id] for m in messages if m.user_id and m.anonymous_id}
    if not pairs:
        return
    known = set(Identity.objects.filter(anonymous_id__in=pairs).values_list("anonymous_id", flat=True))
    for anonymous_id in sorted(pairs.keys() - known):
        try:
            identity_link(anonymous_id=anonymous_id, lead=Lead.objects.get(pk=pairs[anonymous_id]))
        except IdentityConflict:
            pass  # joined to another lead since `known` was read: that lead keeps it


def _apply_identify(message: Message) -> None:
    traits = message.traits
    if not message.user_id:
        _apply_anonymous_identify(message)
        return
    account = None
    if traits["company"]:
        account = account_upsert(domain=traits["company"]["domain"], name=traits["company"]["name"])
    try:
        lead = lead_upsert(
            email=traits["email"] or None,
            user_id=message.user_id,
            name=traits["name"] or None,
            title=traits["title"] or None,
            account=account,
        )
    except IdentityConflict as conflict:
        raise MessageError("traits.email", conflict.reason) from None
    if message.anonymous_id:
        try:
            identity_link(anonymous_id=message.anonymous_id, lead=lead)
        except IdentityConflict as conflict:
            raise MessageError("anonymousId", conflict.reason) from None
    if account:
        accounts_rollup(account_ids=[account.pk])


def _apply_anonymous_identify(message: Message) -> None:
    """A visitor without a userId may introduce a new lead, never speak for a known one: anyone
    can send an anonymousId with someone else's email."""
    traits = message.traits
    identity, _ = Identity.objects.get_or_create(anonymous_id=message.anonymous_id)
    email = traits["email"].lower()
    if not email or identity.lead_id or Lead.objects.filter(email=email).exists():
        return
    account = None
    if traits["company"]:
        account = account_upsert(domain=traits["company"]["domain"], name=traits["company"]["name"])
    lead = lead_upsert(
        email=email, name=traits["name"] or None, title=traits["title"] or None, account=account
    )
    identity_link(anonymous_id=message.anonymous_id, lead=lead)
    if account:
        accounts_rollup(account_ids=[account.pk])


def _apply_group(message: Message) -> None:
    traits = message.traits
    account = account_upsert(domain=traits["domain"], name=traits["name"], group_id=traits["group_id"])
    lead = _known_lead(message)
    if lead is None:
        return
    previous = lead.account_id
    if previous != account.pk:
        lead.account = account
        lead.save(update_fields=["account", "updated_at"])
    accounts_rollup(account_ids=[account.pk] + ([previous] if previous else []))


def _apply_alias(message: Message) -> None:
    lead = lead_upsert(user_id=message.user_id)
    try:
        identity_link(anonymous_id=message.traits["previous_id"], lead=lead)
    except IdentityConflict as conflict:
        raise MessageError("previousId", conflict.reason) from None


def _known_lead(message: Message) -> Lead | None:
    if message.user_id:
        return lead_upsert(user_id=message.user_id)
    identity = (
        Identity.objects.filter(anonymous_id=message.anonymous_id, lead__isnull=False)
        .select_related("lead")
        .first()
    )
    return identity.lead if identity else None


_APPLY = {"identify": _apply_identify, "group": _apply_group, "alias": _apply_alias}
