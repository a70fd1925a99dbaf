"""A local Salesforce on loopback over TLS (simple-salesforce only speaks https): the OAuth
token endpoint, SOQL queries the connector sends (Lead / Contact by email, closed
opportunities with contact roles) and sObject Collections PATCH with its 200-record limit."""

from __future__ import annotations

import ipaddress
import json
import re
import ssl
import threading
from collections import deque
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

MAX_RECORDS = 200


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "fake-sf.pem", directory / "fake-sf.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


class FakeSalesforce:
    def __init__(self, directory: Path, *, session_id: str = "00Dfake!session", client=("cid", "csecret")):
        self.session_id, self.client = session_id, client
        self.lock = threading.Lock()
        self.records: dict[str, dict] = {}  # Id → {"type", "Email", fields…}
        self.opportunities: list[dict] = []
        self.patches: list[list[str]] = []  # Ids per accepted PATCH call
        self.faults: deque = deque()
        self.cert, key = self_signed(directory)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> FakeSalesforce:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def add(self, sobject: str, email: str, converted: bool = False) -> str:
        prefix = "003" if sobject == "Contact" else "00Q"
        record_id = f"{prefix}{len(self.records):012d}"
        self.records[record_id] = {"type": sobject, "Email": email, "IsConverted": converted}
        return record_id

    def add_opportunity(self, opp_id: str, won: bool, emails: list[str]) -> None:
        self.opportunities.append({"Id": opp_id, "IsWon": won, "emails": emails})


def _handler(fake: FakeSalesforce):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, status: int, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def body(self):
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length)

        def authorised(self) -> bool:
            if self.headers.get("Authorization") != f"Bearer {fake.session_id}":
                self.answer(
                    401, [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
                )
                return False
            return True

        def do_POST(self):
            form = parse_qs(self.body().decode())
            if urlparse(self.path).path != "/services/oauth2/token":
                return self.answer(404, [{"errorCode": "NOT_FOUND", "message": "no route"}])
            if (form.get("client_id", [""])[0], form.get("client_secret", [""])[0]) != fake.client:
                return self.answer(
                    400, {"error": "invalid_client", "error_description": "invalid client credentials"}
                )
            self.answer(
                200, {"access_token": fake.session_id, "instance_url": fake.url, "token_type": "Bearer"}
            )

        def do_GET(self):
            url = urlparse(self.path)
            if not self.authorised():
                return
            if not re.fullmatch(r"/services/data/v[\d.]+/query/?", url.path):
                return self.answer(404, [{"errorCode": "NOT_FOUND", "message": "no route"}])
            soql = parse_qs(url.query)["q"][0]
            with fake.lock:
                if "FROM Opportunity" in soql:
                    return self.answer(
                        200,
                        {
                            "totalSize": len(fake.opportunities),
                            "done": True,
                            "records": [
                                {
                                    "attributes": {"type": "Opportunity"},
                                    "Id": o["Id"],
                                    "Name": f"Opp {o['Id']}",
                                    "IsWon": o["IsWon"],
                                    "CloseDate": "2025-03-01",
                                    "OpportunityContactRoles": {
                                        "totalSize": len(o["emails"]),
                                        "done": True,
                                        "records": [{"Contact": {"Email": e}} for e in o["emails"]],
                                    }
                                    if o["emails"]
                                    else None,
                                }
                                for o in fake.opportunities
                            ],
                        },
                    )
                sobject = re.search(r"FROM (\w+)", soql).group(1)
                emails = {e.replace("\\'", "'").lower() for e in re.findall(r"'((?:[^'\\]|\\.)*)'", soql)}
                rows = [
                    {"attributes": {"type": sobject}, "Id": rid, "Email": r["Email"]}
                    for rid, r in fake.records.items()
                    if r["type"] == sobject
                    and r["Email"].lower() in emails
                    and not ("IsConverted = false" in soql and r["IsConverted"])
                ]
            self.answer(200, {"totalSize": len(rows), "done": True, "records": rows})

        def do_PATCH(self):
            payload = json.loads(self.body() or b"{}")
            if not self.authorised():
                return
            if not re.fullmatch(r"/services/data/v[\d.]+/composite/sobjects/?", urlparse(self.path).path):
                return self.answer(404, [{"errorCode": "NOT_FOUND", "message": "no route"}])
            with fake.lock:
                if fake.faults and fake.faults[0][0] == "status":
                    status = fake.faults.popleft()[1]
                    return self.answer(status, [{"errorCode": "SERVER_UNAVAILABLE", "message": "injected"}])
                records = payload.get("records", [])
                if len(records) > MAX_RECORDS:
                    return self.answer(
                        400,
                        [
                            {
                                "errorCode": "EXCEEDED_ID_LIMIT",
                                "message": f"cannot submit more than {MAX_RECORDS} records",
                            }
                        ],
                    )
                refused = fake.faults.popleft()[1] if fake.faults and fake.faults[0][0] == "refuse" else None
                results, stored = [], []
                for record in records:
                    rid = record.get("id")
                    target = fake.records.get(rid)
                    if target is None or target["type"] != record["attributes"]["type"]:
                        results.append(
                            {
                                "id": rid,
                                "success": False,
                                "errors": [
                                    {
                                        "statusCode": "ENTITY_IS_DELETED",
                                        "message": "entity is deleted",
                                        "fields": [],
                                    }
                                ],
                            }
                        )
                    elif target["Email"] == refused:
                        results.append(
                            {
                                "id": rid,
                                "success": False,
                                "errors": [
                                    {
                                        "statusCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                        "message": "score out of range",
                                        "fields": ["Leadscore_Score__c"],
                                    }
                                ],
                            }
                        )
                    else:
                        target.update({k: v for k, v in record.items() if k not in ("attributes", "id")})
                        results.append({"id": rid, "success": True, "errors": []})
                        stored.append(rid)
                fake.patches.append(stored)
            self.answer(200, results)

    return Handler
