"""A local HubSpot on loopback: the documented CRM v3 endpoints the connector calls, with
HubSpot's limits (100 inputs per batch call, a per-10-seconds call window answered with 429 and
Retry-After) and faults a test can ask for (a 429, a 5xx, a 207 refusing one email)."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MAX_INPUTS = 100
NOW = "2025-03-01T12:00:00.000Z"


class FakeHubSpot:
    def __init__(self, *, token: str = "pat-test-token", calls_per_window: int = 100, window: float = 10.0):
        self.token, self.calls_per_window, self.window = token, calls_per_window, window
        self.lock = threading.Lock()
        self.contacts: dict[str, dict] = {}  # email → {"id", "properties"}
        self.deals: list[dict] = []
        self.properties: dict[str, dict] = {}
        self.upserts: list[dict] = []  # one per accepted upsert call: {"at", "emails"}
        self.received: list[str] = []  # every email stored, in order, once per time it was stored
        self.rejected_over_window = 0
        self.max_in_window = 0
        self.faults: deque = deque()  # ("status", status, retry_after) or ("refuse", email)
        self.refuse_always: set[str] = set()
        self.call_times: deque = deque()
        self.responses: list[tuple[float, int]] = []  # (time, status) of every upsert answer
        self.versions: dict[str, list[dict]] = {}  # email → the properties of each upsert storing it
        # hold_after = n: the upsert call after n accepted ones is stored, then its answer is held
        # (the client waits) until `release` is set: a run killed then never hears the CRM's yes.
        self.hold_after: int | None = None
        self.held = threading.Event()
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeHubSpot:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, status: int, retry_after: float | None = None) -> None:
        self.faults.append(("status", status, retry_after))

    def refuse_once(self, email: str) -> None:
        self.faults.append(("refuse", email))

    def add_contact(self, email: str) -> str:
        with self.lock:
            return self._store(email, {})["id"]

    def add_deal(self, deal_id: str, stage: str, contact_ids: list[str], closedate: str = NOW) -> None:
        self.deals.append({"id": deal_id, "stage": stage, "contacts": contact_ids, "closedate": closedate})

    def _store(self, email: str, properties: dict) -> dict:
        contact = self.contacts.get(email)
        if contact is None:
            contact = self.contacts[email] = {
                "id": str(1000 + len(self.contacts)),
                "properties": {"email": email},
            }
        contact["properties"].update(properties)
        return contact

    def _window_full(self) -> bool:
        now = time.monotonic()
        while self.call_times and self.call_times[0] <= now - self.window:
            self.call_times.popleft()
        if len(self.call_times) >= self.calls_per_window:
            self.rejected_over_window += 1
            return True
        self.call_times.append(now)
        self.max_in_window = max(self.max_in_window, len(self.call_times))
        return False


def _object(contact: dict, new: bool = False) -> dict:
    return {
        "id": contact["id"],
        "properties": dict(contact["properties"]),
        "createdAt": NOW,
        "updatedAt": NOW,
        "archived": False,
        "new": new,
    }


def _error(status: int, message: str, category: str = "VALIDATION_ERROR", context=None) -> dict:
    return {
        "status": "error",
        "message": message,
        "category": category,
        "context": context or {},
        "errors": [],
        "links": {},
        "correlationId": "00000000-0000-0000-0000-000000000000",
    }


def _handler(fake: FakeHubSpot):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status: int, body: dict, headers: dict | None = None):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def body(self) -> dict:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                self.answer(
                    401, _error(401, "Authentication credentials not found.", "INVALID_AUTHENTICATION")
                )
                return False
            return True

        def do_POST(self):
            payload = self.body()
            if not self.authorised():
                return
            path = urlparse(self.path).path
            if path == "/crm/v3/objects/contacts/batch/upsert":
                with fake.lock:
                    self.held_answer = None
                    self.upsert(payload)
                if self.held_answer:
                    fake.held.set()
                    fake.release.wait(60)
                    try:
                        self.answer(*self.held_answer)
                    except OSError:
                        pass  # the client was killed while it waited
                return
            with fake.lock:
                if path == "/crm/v3/objects/contacts/batch/read":
                    return self.read(payload)
                if path == "/crm/v3/properties/contacts/batch/create":
                    return self.properties_create(payload)
            self.answer(404, _error(404, f"no route {path}", "OBJECT_NOT_FOUND"))

        def do_GET(self):
            if not self.authorised():
                return
            url = urlparse(self.path)
            if url.path != "/crm/v3/objects/deals":
                return self.answer(404, _error(404, f"no route {url.path}", "OBJECT_NOT_FOUND"))
            query = parse_qs(url.query)
            limit, after = int(query.get("limit", ["10"])[0]), int(query.get("after", ["0"])[0])
            with fake.lock:
                page = fake.deals[after : after + limit]
                results = [
                    {
                        "id": deal["id"],
                        "createdAt": NOW,
                        "updatedAt": NOW,
                        "archived": False,
                        "properties": {
                            "dealstage": deal["stage"],
                            "closedate": deal["closedate"],
                            "dealname": f"Deal {deal['id']}",
                        },
                        "associations": {
                            "contacts": {
                                "results": [
                                    {"id": cid, "type": "deal_to_contact"} for cid in deal["contacts"]
                                ]
                            }
                        },
                    }
                    for deal in page
                ]
                more = after + limit < len(fake.deals)
            body = {"results": results}
            if more:
                body["paging"] = {"next": {"after": str(after + limit), "link": ""}}
            self.answer(200, body)

        def upsert(self, payload: dict):
            inputs = payload.get("inputs", [])
            if fake._window_full():
                fake.responses.append((time.monotonic(), 429))
                return self.answer(
                    429,
                    _error(429, "You have reached your ten_secondly_rolling limit.", "RATE_LIMITS"),
                    {"Retry-After": "1"},
                )
            if fake.faults and fake.faults[0][0] == "status":
                _, status, retry_after = fake.faults.popleft()
                fake.responses.append((time.monotonic(), status))
                headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
                return self.answer(
                    status,
                    _error(status, "injected fault", "RATE_LIMITS" if status == 429 else "ERROR"),
                    headers,
                )
            if len(inputs) > MAX_INPUTS:
                fake.responses.append((time.monotonic(), 400))
                return self.answer(
                    400, _error(400, f"Batch size {len(inputs)} exceeds the limit of {MAX_INPUTS}")
                )
            refused = set(fake.refuse_always)
            if fake.faults and fake.faults[0][0] == "refuse":
                refused.add(fake.faults.popleft()[1])
            results, errors = [], []
            for item in inputs:
                email = item["id"].lower()
                if item.get("idProperty") != "email":
                    errors.append(_error(400, "idProperty must be email", context={"ids": [item["id"]]}))
                elif email in refused:
                    errors.append(
                        _error(
                            400, "Property values were not valid: leadscore_score", context={"ids": [email]}
                        )
                    )
                else:
                    new = email not in fake.contacts
                    results.append(_object(fake._store(email, item.get("properties", {})), new))
                    fake.received.append(email)
                    fake.versions.setdefault(email, []).append(dict(item.get("properties", {})))
            fake.upserts.append(
                {"at": time.monotonic(), "emails": [r["properties"]["email"] for r in results]}
            )
            status = 207 if errors else 200
            fake.responses.append((time.monotonic(), status))
            body = {
                "status": "COMPLETE",
                "results": results,
                "startedAt": NOW,
                "completedAt": NOW,
                "requestedAt": NOW,
                "links": {},
            }
            if errors:
                body.update(errors=errors, numErrors=len(errors))
            if fake.hold_after is not None and len(fake.upserts) == fake.hold_after + 1:
                self.held_answer = (status, body)
                return
            self.answer(status, body)

        def read(self, payload: dict):
            ids = {item["id"] for item in payload.get("inputs", [])}
            found = [_object(c) for c in fake.contacts.values() if c["id"] in ids]
            self.answer(200, {"status": "COMPLETE", "results": found, "startedAt": NOW, "completedAt": NOW})

        def properties_create(self, payload: dict):
            results, errors = [], []
            for item in payload.get("inputs", []):
                if item["name"] in fake.properties:
                    errors.append(
                        _error(
                            409,
                            f"Property named '{item['name']}' already exists.",
                            "OBJECT_ALREADY_EXISTS",
                            {"name": [item["name"]]},
                        )
                    )
                    continue
                fake.properties[item["name"]] = item
                results.append(
                    {
                        **item,
                        "hidden": False,
                        "modificationMetadata": {
                            "archivable": True,
                            "readOnlyDefinition": False,
                            "readOnlyValue": False,
                        },
                        "options": [],
                    }
                )
            self.answer(
                207 if errors else 201,
                {
                    "status": "COMPLETE",
                    "results": results,
                    "errors": errors,
                    "startedAt": NOW,
                    "completedAt": NOW,
                },
            )

    return Handler


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
