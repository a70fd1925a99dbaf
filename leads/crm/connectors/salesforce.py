"""Salesforce through simple-salesforce: each email matched to its Contact (else its Lead),
the mapped fields updated with sObject Collections (≤200 records per call, allOrNone false so
one refusal fails only its own record), and closed opportunities read with their contact roles."""

from __future__ import annotations

from datetime import UTC, datetime

import requests
from django.conf import settings
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError
from simple_salesforce.format import format_soql

from leads.crm.connectors import BatchAnswer, ClosedDeal, CrmRateLimited, CrmUnavailable, PushRecord

BATCH_SIZE = 200
API_VERSION = "59.0"


class SalesforceConnector:
    batch_size = BATCH_SIZE

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

    def _match(self, emails: list[str]) -> dict[str, tuple[str, str]]:
        """email → (sObject type, Id): a Contact when there is one, else an unconverted Lead."""
        found = {}
        for sobject, extra in (("Lead", " AND IsConverted = false"), ("Contact", "")):
            soql = format_soql(f"SELECT Id, Email FROM {sobject} WHERE Email IN {{}}{extra}", emails)
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


def _translated(error: SalesforceError) -> Exception:
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
