"""One module per CRM. Each connector speaks to its CRM through the vendor's client library
and answers in plain values (`BatchAnswer`, `ClosedDeal`), so the push and pull services never
see a vendor type."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


class CrmUnavailable(Exception):
    """The CRM could not be reached or answered with an error for the whole call (5xx, 401,
    connection refused). What was being sent stays pending."""


class CrmRateLimited(Exception):
    def __init__(self, retry_after: float, message: str = ""):
        super().__init__(message or f"rate limited, retry after {retry_after:g} s")
        self.retry_after = retry_after


@dataclass(frozen=True)
class PushRecord:
    lead_id: int
    email: str
    properties: dict


@dataclass
class BatchAnswer:
    """What the CRM said about one batch: the leads it stored, and those it refused with why."""

    stored: set[int] = field(default_factory=set)
    failed: dict[int, str] = field(default_factory=dict)
    # Emails the CRM holds no record for (Salesforce matches existing Leads and Contacts only).
    unmatched: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class ClosedDeal:
    external_id: str
    won: bool
    closed_at: datetime | None
    emails: tuple[str, ...]
    name: str = ""
