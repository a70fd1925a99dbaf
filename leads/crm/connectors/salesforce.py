"""Salesforce through simple-salesforce: each email matched to its Contact (else its Lead),
the mapped fields updated with sObject Collections (≤200 records per call, allOrNone false so
one refusal fails only its own record) or, for large pushes, with Bulk API 2.0 update jobs (one
per sObject type), and closed opportunities read with their contact roles."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import requests
from django.conf import settings
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceOperationError
from simple_salesforce.format import format_soql

from leads.crm.connectors import BatchAnswer, ClosedDeal, CrmRateLimited, CrmUnavailable, PushRecord

BATCH_SIZE = 200
API_VERSION = "59.0"
# SOQL is sent in the query string: 200 emails keep it far below Salesforce's URI limit.
MATCH_CHUNK = 200
# Bulk API 2.0 leaves a field as it was for an empty CSV cell and clears it only for this value;
# Salesforce keeps no empty strings, so "" and None both mean "clear", as in a Collections call.
BULK_NULL = "#N/A"


class SalesforceConnector:
    batch_size = BATCH_SIZE
    # Seconds before the first look at a bulk job's state (simple-salesforce then backs off to 2 s).
    bulk_poll_seconds = 2.0

    def __init__(self, *, instance_url: str, secret: str, client_id: str = ""):
        self.instance_url = instance_url.rstrip("/")
        self.session = requests.Session()
        if settings.CRM_CA_BUNDLE:
            # requests lets REQUESTS_CA_BUNDLE from the environment win over a session's bundle;
            # the proxies the environment names are kept by hand.
            self.session.trust_env = False
            self.session.verify = settings.CRM_CA_BUNDLE
            self.session.proxies = requests.utils.get_environ_proxies(self.instance_url)
        try:
            session_id = self._client_credentials(client_id, secret) if client_id else secret
            self.sf = Salesforce(
                instance_url=self.instance_url,
                session_id=session_id,
                session=self.session,
                version=API_VERSION,
            )
        except requests.RequestException as error:
            raise CrmUnavailable(f"Salesforce could not be reached ({type(error).__name__}).") from None

    def _client_credentials(self, client_id: str, client_secret: str) -> str:
        # The OAuth client-credentials flow is served by the org's My Domain, i.e. the instance URL.
        response = self.session.post(
            f"{self.instance_url}/services/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": client_secret},
            timeout=30,
        )
        if response.status_code != 200:
            raise CrmUnavailable(
                f"Salesforce refused the client credentials ({response.status_code}): check id and secret."
            )
        return response.json()["access_token"]

    def push_batch(self, records: list[PushRecord]) -> BatchAnswer:
        try:
            matches = self._match([record.email for record in records])
            answer = BatchAnswer(unmatched={r.lead_id for r in records if r.email.lower() not in matches})
            sent = [r for r in records if r.email.lower() in matches]
            if not sent:
                return answer
            body = {
                "allOrNone": False,
                "records": [
                    {
                        "attributes": {"type": matches[r.email.lower()][0]},
                        "id": matches[r.email.lower()][1],
                        **r.properties,
                    }
                    for r in sent
                ],
            }
            results = self.sf.restful("composite/sobjects", method="PATCH", json=body) or []
        except SalesforceError as error:
            raise _translated(error) from None
        except requests.RequestException as error:
            raise CrmUnavailable(f"Salesforce could not be reached ({type(error).__name__}).") from None
        for record, result in zip(sent, results):
            if result.get("success"):
                answer.stored.add(record.lead_id)
            else:
                errors = result.get("errors") or [{}]
                answer.failed[record.lead_id] = (
                    f"{errors[0].get('statusCode', 'refused')}: {errors[0].get('message', '')}"[:300]
                )
        return answer

    def push_bulk(self, records: list[PushRecord]) -> BatchAnswer:
        """The same update as `push_batch`, as one Bulk API 2.0 ingest job per sObject type:
        create, upload the CSV, close, poll until complete, then read which rows succeeded and
        which failed (with Salesforce's reason). Rows in neither list stay pending."""
        try:
            matches = self._match([record.email for record in records])
            answer = BatchAnswer(unmatched={r.lead_id for r in records if r.email.lower() not in matches})
            # Leads sharing an email share the Salesforce record: one row (the newest lead's
            # values, ids ascending), and its answer holds for each of them.
            by_type: dict[str, dict[str, list[PushRecord]]] = {}
            for record in records:
                if record.email.lower() in matches:
                    sobject, record_id = matches[record.email.lower()]
                    by_type.setdefault(sobject, {}).setdefault(record_id, []).append(record)
            for sobject, by_id in sorted(by_type.items()):
                self._bulk_update(sobject, by_id, answer)
        except (SalesforceError, SalesforceOperationError) as error:
            raise _translated(error) from None
        except requests.RequestException as error:
            raise CrmUnavailable(f"Salesforce could not be reached ({type(error).__name__}).") from None
        return answer

    def _bulk_update(self, sobject: str, by_id: dict[str, list[PushRecord]], answer: BatchAnswer) -> None:
        rows = [
            {
                "Id": record_id,
                **{k: BULK_NULL if v is None or v == "" else v for k, v in records[-1].properties.items()},
            }
            for record_id, records in by_id.items()
        ]
        bulk = getattr(self.sf.bulk2, sobject)
        # Every cell quoted: simple-salesforce re-reads the CSV it writes, and on Python 3.11 a
        # bare "\r" in an unquoted cell would end the row there.
        (job,) = bulk.update(records=rows, wait=self.bulk_poll_seconds, quoting=csv.QUOTE_ALL)
        for row in _csv_rows(bulk.get_successful_records(job_id=job["job_id"])):
            answer.stored.update(record.lead_id for record in by_id.get(row.get("sf__Id") or "", []))
        for row in _csv_rows(bulk.get_failed_records(job_id=job["job_id"])):
            # A failed row's sf__Id is empty on an update; its own Id column names it.
            for record in by_id.get(row.get("Id") or row.get("sf__Id") or "", []):
                answer.failed[record.lead_id] = (row.get("sf__Error") or "refused")[:300]

    def _match(self, emails: list[str]) -> dict[str, tuple[str, str]]:
        """email → (sObject type, Id): a Contact when there is one, else an unconverted Lead."""
        found = {}
        for sobject, extra in (("Lead", " AND IsConverted = false"), ("Contact", "")):
            for start in range(0, len(emails), MATCH_CHUNK):
                chunk = emails[start : start + MATCH_CHUNK]
                soql = format_soql(f"SELECT Id, Email FROM {sobject} WHERE Email IN {{}}{extra}", chunk)
                for row in self.sf.query_all(soql)["records"]:
                    if row.get("Email"):
                        found[row["Email"].lower()] = (sobject, row["Id"])
        return found

    def closed_deals(self) -> list[ClosedDeal]:
        soql = (
            "SELECT Id, Name, IsWon, CloseDate, (SELECT Contact.Email FROM OpportunityContactRoles) "
            "FROM Opportunity WHERE IsClosed = true"
        )
        try:
            rows = self.sf.query_all(soql)["records"]
        except SalesforceError as error:
            raise _translated(error) from None
        except requests.RequestException as error:
            raise CrmUnavailable(f"Salesforce could not be reached ({type(error).__name__}).") from None
        deals = []
        for row in rows:
            roles = (row.get("OpportunityContactRoles") or {}).get("records") or []
            emails = {(role.get("Contact") or {}).get("Email", "") for role in roles}
            deals.append(
                ClosedDeal(
                    external_id=row["Id"],
                    won=bool(row.get("IsWon")),
                    closed_at=_day(row.get("CloseDate")),
                    emails=tuple(sorted(email.lower() for email in emails if email)),
                    name=row.get("Name") or "",
                )
            )
        return deals


def _day(value) -> datetime | None:
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC) if value else None
    except ValueError:
        return None


def _csv_rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text))) if text else []


def _translated(error: Exception) -> Exception:
    if isinstance(error, SalesforceOperationError):
        return CrmUnavailable(
            f"Salesforce's bulk job did not complete ({str(error)[:200]}); changes are kept."
        )
    status = getattr(error, "status", 0) or 0
    content = str(getattr(error, "content", ""))[:200]
    if status == 403 and "REQUEST_LIMIT_EXCEEDED" in content:
        return CrmRateLimited(60.0, "Salesforce's daily API request limit is reached")
    if status == 401:
        return CrmUnavailable("Salesforce refused the session (401): connect Salesforce again.")
    if status >= 500:
        return CrmUnavailable(
            f"Salesforce answered {status} (a server error on their side); changes are kept."
        )
    return CrmUnavailable(f"Salesforce answered {status}: {content}")
