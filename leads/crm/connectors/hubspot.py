"""HubSpot through hubspot-api-client: batch upsert of contacts by email (≤100 per call),
the Leadscore contact properties, and closed deals with their contacts' emails."""

from __future__ import annotations

from datetime import datetime

from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputUpsert,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInputUpsert,
    SimplePublicObjectId,
)
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.properties import BatchInputPropertyCreate, PropertyCreate
from hubspot.crm.properties.exceptions import ApiException as PropertiesApiException
from urllib3.exceptions import HTTPError

from leads.crm.connectors import BatchAnswer, ClosedDeal, CrmRateLimited, CrmUnavailable, PushRecord

BATCH_SIZE = 100
NETWORK_ERRORS = (OSError, HTTPError)
DEFAULT_HOST = "https://api.hubapi.com"
WON, LOST = "closedwon", "closedlost"
PROPERTY_TYPES = {
    "score": ("number", "number", "Leadscore score"),
    "stage": ("string", "text", "Leadscore stage"),
    "account_score": ("number", "number", "Leadscore account score"),
    "likelihood": ("number", "number", "Leadscore likelihood"),
    "why": ("string", "textarea", "Leadscore: why this score"),
    "updated_at": ("datetime", "date", "Leadscore updated at"),
}


class HubSpotConnector:
    batch_size = BATCH_SIZE

    def __init__(self, *, token: str, base_url: str = ""):
        self.client = HubSpot(access_token=token, host=(base_url or DEFAULT_HOST).rstrip("/"))

    def push_batch(self, records: list[PushRecord]) -> BatchAnswer:
        inputs = [
            SimplePublicObjectBatchInputUpsert(
                id=record.email, id_property="email", properties=record.properties
            )
            for record in records
        ]
        try:
            response = self.client.crm.contacts.batch_api.upsert(
                BatchInputSimplePublicObjectBatchInputUpsert(inputs=inputs)
            )
        except ApiException as error:
            raise _translated(error) from None
        except NETWORK_ERRORS as error:
            raise CrmUnavailable(f"HubSpot could not be reached ({type(error).__name__}).") from None
        return _answer(records, response)

    def properties_create(self, mapping: dict[str, str]) -> list[str]:
        """Create the mapped Leadscore properties on contacts; returns the names HubSpot refused
        (typically because they exist already)."""
        inputs = [
            PropertyCreate(
                name=name,
                label=PROPERTY_TYPES[key][2],
                type=PROPERTY_TYPES[key][0],
                field_type=PROPERTY_TYPES[key][1],
                group_name="contactinformation",
            )
            for key, name in mapping.items()
            if name and key in PROPERTY_TYPES
        ]
        try:
            response = self.client.crm.properties.batch_api.create(
                "contacts", BatchInputPropertyCreate(inputs=inputs)
            )
        except PropertiesApiException as error:
            raise _translated(error) from None
        except NETWORK_ERRORS as error:
            raise CrmUnavailable(f"HubSpot could not be reached ({type(error).__name__}).") from None
        return [name for error in (getattr(response, "errors", None) or []) for name in _error_ids(error)]

    def closed_deals(self) -> list[ClosedDeal]:
        """Every won or lost deal with the emails of its associated contacts, page by page."""
        deals, after = [], None
        try:
            while True:
                page = self.client.crm.deals.basic_api.get_page(
                    limit=100,
                    after=after,
                    properties=["dealstage", "closedate", "dealname"],
                    associations=["contacts"],
                )
                deals.extend(
                    deal for deal in page.results if (deal.properties or {}).get("dealstage") in (WON, LOST)
                )
                after = page.paging.next.after if page.paging and page.paging.next else None
                if not after:
                    break
            emails = self._contact_emails({c.id for d in deals for c in _deal_contacts(d)})
        except ApiException as error:
            raise _translated(error) from None
        except NETWORK_ERRORS as error:
            raise CrmUnavailable(f"HubSpot could not be reached ({type(error).__name__}).") from None
        return [
            ClosedDeal(
                external_id=str(deal.id),
                won=deal.properties["dealstage"] == WON,
                closed_at=_instant(deal.properties.get("closedate")),
                emails=tuple(sorted({emails[c.id] for c in _deal_contacts(deal) if c.id in emails})),
                name=deal.properties.get("dealname") or "",
            )
            for deal in deals
        ]

    def _contact_emails(self, ids: set[str]) -> dict[str, str]:
        emails, ids = {}, sorted(ids)
        for start in range(0, len(ids), BATCH_SIZE):
            response = self.client.crm.contacts.batch_api.read(
                BatchReadInputSimplePublicObjectId(
                    inputs=[SimplePublicObjectId(id=i) for i in ids[start : start + BATCH_SIZE]],
                    properties=["email"],
                )
            )
            for contact in response.results:
                if (contact.properties or {}).get("email"):
                    emails[str(contact.id)] = contact.properties["email"].lower()
        return emails


def _answer(records: list[PushRecord], response) -> BatchAnswer:
    by_email = {record.email.lower(): record.lead_id for record in records}
    errors = getattr(response, "errors", None) or []
    if not errors:
        return BatchAnswer(stored=set(by_email.values()))
    answer = BatchAnswer()
    for error in errors:
        for identifier in _error_ids(error):
            if identifier.lower() in by_email:
                answer.failed[by_email[identifier.lower()]] = (error.message or error.category or "refused")[
                    :300
                ]
    confirmed = {
        (result.properties or {}).get("email", "").lower() for result in (response.results or [])
    } & set(by_email)
    answer.stored = {by_email[email] for email in confirmed} - set(answer.failed)
    # A refusal HubSpot did not tie to an email: every record it did not confirm is retried.
    for lead_id in by_email.values():
        if lead_id not in answer.stored and lead_id not in answer.failed:
            answer.failed[lead_id] = "not confirmed by HubSpot"
    return answer


def _error_ids(error) -> list[str]:
    context = getattr(error, "context", None) or {}
    return [
        str(value)
        for key in ("ids", "email", "name", "names", "propertyName")
        for value in context.get(key, [])
    ]


def _deal_contacts(deal) -> list:
    associations = deal.associations or {}
    contacts = associations.get("contacts")
    return list(contacts.results or []) if contacts else []


def _instant(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None


def _translated(error) -> Exception:
    status = getattr(error, "status", 0) or 0
    if status == 429:
        headers = error.headers or {}
        try:
            retry_after = float(headers.get("Retry-After") or 10)
        except ValueError:
            retry_after = 10.0
        return CrmRateLimited(retry_after, f"HubSpot said too many requests (429); waited {retry_after:g} s")
    if status == 401:
        return CrmUnavailable(
            "HubSpot refused the access token (401): connect HubSpot again with a valid token."
        )
    if status == 403:
        return CrmUnavailable(
            "HubSpot refused the call (403): the private app needs the crm.objects.contacts scopes."
        )
    if status >= 500:
        return CrmUnavailable(f"HubSpot answered {status} (a server error on their side); changes are kept.")
    return CrmUnavailable(f"HubSpot answered {status}: {(error.reason or '')[:200]}")
