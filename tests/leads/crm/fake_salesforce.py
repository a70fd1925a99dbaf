"""A local Salesforce on loopback over TLS (simple-salesforce only speaks https): the OAuth
token endpoint, SOQL queries the connector sends (Lead / Contact by email, closed
opportunities with contact roles), sObject Collections PATCH with its 200-record limit, and the
Bulk API 2.0 ingest endpoints simple-salesforce's bulk2 calls for an update job (create, upload
CSV, close, job state, successful / failed / unprocessed results as CSV)."""

from __future__ import annotations

import csv
import io
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
        self.refuse_always: set[str] = set()  # emails whose rows every bulk job refuses
        self.jobs: dict[str, dict] = {}  # bulk ingest job id → {"object", "state", "rows", …}
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

        def answer_csv(self, status: int, rows: list[dict], columns: list[str]):
            out = io.StringIO()
            # Salesforce quotes every cell of a results CSV.
            writer = csv.DictWriter(
                out, fieldnames=columns, lineterminator="\n", extrasaction="ignore", quoting=csv.QUOTE_ALL
            )
            writer.writeheader()
            writer.writerows(rows)
            data = out.getvalue().encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def job_path(self):
            return re.fullmatch(r"/services/data/v[\d.]+/jobs/ingest(?:/(\w+))?(?:/(\w+))?/?", self.path)

        def job_info(self, job_id: str) -> dict:
            job = fake.jobs[job_id]
            return {
                "id": job_id,
                "object": job["object"],
                "operation": job["operation"],
                "state": job["state"],
                "contentType": "CSV",
                "columnDelimiter": "COMMA",
                "lineEnding": "LF",
                "apiVersion": 59.0,
                "numberRecordsProcessed": len(job["successful"]) + len(job["failed"]),
                "numberRecordsFailed": len(job["failed"]),
                **({"errorMessage": job["errorMessage"]} if "errorMessage" in job else {}),
            }

        def do_POST(self):
            raw = self.body()
            if (job := self.job_path()) and not job.group(1):
                return self.job_create(json.loads(raw or b"{}"))
            form = parse_qs(raw.decode())
            if urlparse(self.path).path != "/services/oauth2/token":
                return self.answer(404, [{"errorCode": "NOT_FOUND", "message": "no route"}])
            if (form.get("client_id", [""])[0], form.get("client_secret", [""])[0]) != fake.client:
                return self.answer(
                    400, {"error": "invalid_client", "error_description": "invalid client credentials"}
                )
            self.answer(
                200, {"access_token": fake.session_id, "instance_url": fake.url, "token_type": "Bearer"}
            )

        def job_create(self, payload: dict):
            if not self.authorised():
                return
            if payload.get("operation") != "update" or payload.get("contentType") != "CSV":
                return self.answer(400, [{"errorCode": "INVALIDJOB", "message": "fake supports CSV updates"}])
            with fake.lock:
                job_id = f"750{len(fake.jobs):015d}"
                fake.jobs[job_id] = {
                    "object": payload["object"],
                    "operation": "update",
                    "state": "Open",
                    "rows": [],
                    "columns": [],
                    "successful": [],
                    "failed": [],
                }
                return self.answer(200, self.job_info(job_id))

        def do_PUT(self):
            raw = self.body()
            job = self.job_path()
            if not self.authorised():
                return
            if not job or job.group(2) != "batches" or job.group(1) not in fake.jobs:
                return self.answer(404, [{"errorCode": "NOT_FOUND", "message": "no such job"}])
            reader = csv.DictReader(io.StringIO(raw.decode("utf-8")))
            with fake.lock:
                target = fake.jobs[job.group(1)]
                if target["state"] != "Open":
                    return self.answer(400, [{"errorCode": "INVALIDJOBSTATE", "message": "job not open"}])
                target["rows"].extend(reader)
                target["columns"] = list(reader.fieldnames or [])
            self.send_response(201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def job_close(self, job_id: str, state: str):
            """UploadComplete processes the whole job at once: each row updates its record, or is
            refused (unknown Id, wrong type, or an email in refuse_always)."""
            target = fake.jobs[job_id]
            if fake.faults and fake.faults[0][0] == "job":
                # The whole job fails on Salesforce's side (e.g. a lock or an internal error).
                target["state"] = fake.faults.popleft()[1]
                target["errorMessage"] = "InternalServerError: injected"
                return
            if state == "Aborted":
                target["state"] = "Aborted"
                return
            for row in target["rows"]:
                record = fake.records.get(row.get("Id", ""))
                if record is None or record["type"] != target["object"]:
                    target["failed"].append(
                        {"sf__Id": "", "sf__Error": "ENTITY_IS_DELETED:entity is deleted:--", **row}
                    )
                elif record["Email"].lower() in fake.refuse_always:
                    error = "FIELD_CUSTOM_VALIDATION_EXCEPTION:score out of range:Leadscore_Score__c"
                    target["failed"].append({"sf__Id": "", "sf__Error": error, **row})
                else:
                    record.update({k: (None if v == "#N/A" else v) for k, v in row.items() if k != "Id"})
                    target["successful"].append({"sf__Id": row["Id"], "sf__Created": "false", **row})
            target["state"] = "JobComplete"

        def do_GET(self):
            url = urlparse(self.path)
            if not self.authorised():
                return
            if job := self.job_path():
                with fake.lock:
                    if job.group(1) not in fake.jobs:
                        return self.answer(404, [{"errorCode": "NOT_FOUND", "message": "no such job"}])
                    target = fake.jobs[job.group(1)]
                    if not job.group(2):
                        return self.answer(200, self.job_info(job.group(1)))
                    kind = {"successfulResults": "successful", "failedResults": "failed"}.get(job.group(2))
                    if kind:
                        extra = ["sf__Id", "sf__Created"] if kind == "successful" else ["sf__Id", "sf__Error"]
                        return self.answer_csv(200, target[kind], extra + target["columns"])
                    if job.group(2) == "unprocessedRecords":
                        return self.answer_csv(200, [], target["columns"])
                return self.answer(404, [{"errorCode": "NOT_FOUND", "message": "no route"}])
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
            if (job := self.job_path()) and job.group(1) and not job.group(2):
                with fake.lock:
                    if job.group(1) not in fake.jobs:
                        return self.answer(404, [{"errorCode": "NOT_FOUND", "message": "no such job"}])
                    self.job_close(job.group(1), payload.get("state", ""))
                    return self.answer(200, self.job_info(job.group(1)))
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
