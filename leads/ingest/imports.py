"""CSV import of leads, accounts and events (§10) with a per-row error report.

`csv_check` reads a file and splits it into valid rows and errors (line, field, reason)
without writing to the database; `csv_import` stores the valid rows set-based, in chunks.
Re-importing a file creates nothing twice: leads and accounts are upserted by email and
domain, and every event row gets a deterministic idempotency key."""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from leads.ingest.events import NewEvent, events_ingest
from leads.ingest.validation import InvalidValue, check_number, check_text, parse_instant
from leads.models import Account, CsvImport, EventType, Lead, Tag
from leads.services import accounts_rollup
from scoring_site.queueing import enqueue_or_outbox, job_ended_unfinished

MAX_FILE_BYTES = 20 * 1024 * 1024
CHUNK_ROWS = 1000
PREVIEW_ROWS = 10
# Event types a CSV may carry; survey answers come only from the survey form.
IMPORTABLE_EVENT_TYPES = [t for t in EventType.values if t != EventType.NPS_RESPONSE]

COLUMNS = {
    CsvImport.Kind.LEADS: {
        "required": ("email",),
        "optional": ("name", "title", "account_domain", "account_name", "tags"),
    },
    CsvImport.Kind.ACCOUNTS: {"required": ("domain",), "optional": ("name",)},
    CsvImport.Kind.EVENTS: {
        "required": ("email", "type", "timestamp"),
        "optional": ("id", "name", "url", "asset", "campaign", "percent", "points", "reason"),
    },
}
ALIASES = {
    "occurred_at": "timestamp",
    "company_domain": "account_domain",
    "company": "account_name",
    "event": "name",
    "asset_key": "asset",
}


class CsvFileError(ValueError):
    """The whole file is unusable (not UTF-8, no header, a required column missing)."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


@dataclass
class CheckedCsv:
    kind: str
    header: list[str]
    rows: list[tuple[int, dict]] = field(default_factory=list)  # (line, cleaned values)
    errors: list[dict] = field(default_factory=list)  # {line, field, reason}
    preview: list[tuple[int, list[str]]] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return len(self.rows) + len(self.errors)


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    duplicates: int = 0

    @property
    def imported(self) -> int:
        return self.created + self.updated


class RowError(ValueError):
    def __init__(self, field: str, reason: str):
        super().__init__(reason)
        self.field, self.reason = field, reason


# --- reading and checking ---------------------------------------------------------------


def csv_decode(data: bytes) -> str:
    if len(data) > MAX_FILE_BYTES:
        raise CsvFileError(
            "file", f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it into smaller files"
        )
    try:
        return data.decode("utf-8-sig")  # Excel writes a byte-order mark
    except UnicodeDecodeError as problem:
        raise CsvFileError("file", f"not UTF-8 text (byte {problem.start}); save it as “CSV UTF-8”") from None


def csv_check(
    *, kind: str, text: str, now: datetime | None = None, on_progress: Callable[[int], None] | None = None
) -> CheckedCsv:
    if kind not in COLUMNS:
        raise CsvFileError("kind", f"must be one of {', '.join(COLUMNS)}")
    now = now or timezone.now()
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise CsvFileError("file", "the file is empty; the first line must name the columns") from None
    except csv.Error as problem:
        raise CsvFileError("file", f"line 1: {problem}") from None
    columns = _columns(kind, header)
    checked = CheckedCsv(
        kind=kind,
        header=header,
        ignored_columns=[name for name in header if _canonical(name) not in columns.values()],
    )
    clean_row = _CLEANERS[kind]
    occurrences: Counter = Counter()
    line_before = reader.line_num
    while True:
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as problem:
            checked.errors.append(
                {"line": line_before + 1, "field": "row", "reason": f"unreadable CSV: {problem}"}
            )
            break
        line, line_before = line_before + 1, reader.line_num  # a quoted newline spans lines; report the first
        if on_progress is not None and line % CHUNK_ROWS == 0:
            on_progress(line - 1)
        if not any(value.strip() for value in values):
            continue
        if len(checked.preview) < PREVIEW_ROWS:
            checked.preview.append((line, values))
        if len(values) != len(header):
            checked.errors.append(
                {
                    "line": line,
                    "field": "row",
                    "reason": f"expected {len(header)} columns, found {len(values)}",
                }
            )
            continue
        raw = {name: values[index].strip() for index, name in columns.items()}
        try:
            for name, value in raw.items():
                check_text(value, name)
            row = clean_row(raw, now)
        except InvalidValue as problem:
            checked.errors.append({"line": line, "field": problem.field, "reason": problem.reason})
            continue
        except RowError as problem:
            checked.errors.append({"line": line, "field": problem.field, "reason": problem.reason})
            continue
        if kind == CsvImport.Kind.EVENTS and not row["id"]:
            # Identical rows are distinct events (two downloads in one second); the n-th copy keeps its key.
            content = "\x1f".join(values)
            occurrences[content] += 1
            digest = hashlib.sha256(f"{content}\x1e{occurrences[content]}".encode()).hexdigest()[:40]
            row["idempotency_key"] = f"csv:{digest}"
        checked.rows.append((line, row))
    if kind == CsvImport.Kind.LEADS:
        _refuse_repeated_emails(checked)
    if kind in _ROW_CHECKS:
        _ROW_CHECKS[kind](checked)
    return checked


def _refuse_repeated_emails(checked: CheckedCsv) -> None:
    """Two rows for one email: which one is right is the author's call, so neither is written."""
    lines: dict[str, list[int]] = {}
    for line, row in checked.rows:
        lines.setdefault(row["email"], []).append(line)
    repeated = {email: found for email, found in lines.items() if len(found) > 1}
    if not repeated:
        return
    checked.rows = [(line, row) for line, row in checked.rows if row["email"] not in repeated]
    for email, found in repeated.items():
        for line in found:
            others = ", ".join(str(other) for other in found if other != line)
            checked.errors.append(
                {
                    "line": line,
                    "field": "email",
                    "reason": f"{email} is also on line {others}; fix the file so each email appears once",
                }
            )
    checked.errors.sort(key=lambda error: error["line"])


def _canonical(name: str) -> str:
    name = name.strip().lower().replace(" ", "_")
    return ALIASES.get(name, name)


def _columns(kind: str, header: list[str]) -> dict[int, str]:
    known = COLUMNS[kind]["required"] + COLUMNS[kind]["optional"]
    columns = {}
    for index, name in enumerate(header):
        canonical = _canonical(name)
        if canonical in known and canonical not in columns.values():
            columns[index] = canonical
    missing = [name for name in COLUMNS[kind]["required"] if name not in columns.values()]
    if missing:
        raise CsvFileError(
            missing[0],
            f"the first line must name the column “{missing[0]}” (columns for {kind}: {', '.join(known)})",
        )
    return columns


def _email(raw: dict) -> str:
    email = raw.get("email", "").lower()
    if not email:
        raise RowError("email", "missing")
    try:
        validate_email(email)
    except ValidationError:
        raise RowError("email", f"{email[:60]!r} is not a valid email address") from None
    return email


def _text(raw: dict, name: str, max_length: int = 200) -> str:
    value = raw.get(name, "")
    if len(value) > max_length:
        raise RowError(name, f"longer than {max_length} characters")
    return value


def _domain(value: str, name: str) -> str:
    if not value.strip():
        return ""
    domain = value.strip().lower().removeprefix("https://").removeprefix("http://").split("/", 1)[0]
    if not domain:
        raise RowError(name, f"{value[:60]!r} has no domain once the scheme and path are removed")
    if any(character.isspace() for character in domain) or "." not in domain or len(domain) > 253:
        raise RowError(name, f"{value[:60]!r} is not a domain such as example.com")
    return domain


def _number(raw: dict, name: str) -> float | None:
    value = raw.get(name, "")
    if value == "":
        return None
    try:
        number = float(value.replace(",", ".") if value.count(",") == 1 and "." not in value else value)
    except ValueError:
        raise RowError(name, f"{value[:30]!r} is not a number") from None
    try:
        return check_number(number, name)
    except InvalidValue as problem:
        raise RowError(name, f"{value[:30]!r}: {problem.reason}") from None


def _timestamp(raw: dict, now: datetime) -> datetime:
    value = raw.get("timestamp", "")
    if not value:
        raise RowError("timestamp", "missing")
    try:
        return parse_instant(value, "timestamp", now=now)
    except InvalidValue as problem:
        raise RowError(problem.field, problem.reason) from None


def _clean_lead(raw: dict, now: datetime) -> dict:
    tags = [tag.strip() for tag in raw.get("tags", "").replace("|", ";").split(";") if tag.strip()]
    if any(len(tag) > 60 for tag in tags):
        raise RowError("tags", "a tag is longer than 60 characters")
    return {
        "email": _email(raw),
        "name": _text(raw, "name"),
        "title": _text(raw, "title"),
        "account_domain": _domain(raw.get("account_domain", ""), "account_domain"),
        "account_name": _text(raw, "account_name"),
        "tags": tags,
    }


def _clean_account(raw: dict, now: datetime) -> dict:
    domain = _domain(raw.get("domain", ""), "domain")
    if not domain:
        raise RowError("domain", "missing")
    return {"domain": domain, "name": _text(raw, "name")}


def _clean_event(raw: dict, now: datetime) -> dict:
    email = _email(raw)
    event_type = raw.get("type", "").lower()
    if event_type not in IMPORTABLE_EVENT_TYPES:
        raise RowError(
            "type", f"{raw.get('type', '')[:30]!r} is not one of {', '.join(IMPORTABLE_EVENT_TYPES)}"
        )
    row = {
        "email": email,
        "type": event_type,
        "occurred_at": _timestamp(raw, now),
        "name": _text(raw, "name"),
        "url": _text(raw, "url", 8192),
        "asset": _text(raw, "asset", 500),
        "campaign": _text(raw, "campaign"),
        "id": _text(raw, "id", 150),
        "properties": {},
    }
    percent, points = _number(raw, "percent"), _number(raw, "points")
    if event_type == "video_play":
        if percent is None or not 0 <= percent <= 100:
            raise RowError("percent", "a video_play row needs percent watched between 0 and 100")
        row["properties"]["percent"] = percent
    if event_type == "manual":
        if points is None:
            raise RowError("points", "a manual row needs the points to add (negative to remove)")
        if not raw.get("reason"):
            raise RowError("reason", "a manual row needs the reason for the adjustment")
        row["properties"].update(points=points, reason=_text(raw, "reason", 300))
    if event_type == "custom" and not row["name"]:
        raise RowError("name", "a custom row needs the event name")
    if row["id"]:
        row["idempotency_key"] = f"csv:{row['id']}"
    return row


_CLEANERS: dict[str, Callable[[dict, datetime], dict]] = {
    CsvImport.Kind.LEADS: _clean_lead,
    CsvImport.Kind.ACCOUNTS: _clean_account,
    CsvImport.Kind.EVENTS: _clean_event,
}


# --- importing ----------------------------------------------------------------------------


def csv_import(
    *, checked: CheckedCsv, source: str = "csv", on_progress: Callable[[int], None] | None = None
) -> ImportReport:
    """Store the valid rows of a checked file, a chunk per transaction."""
    report = ImportReport()
    rows = [row for _, row in checked.rows]
    for start in range(0, len(rows), CHUNK_ROWS):
        _IMPORTERS[checked.kind](rows[start : start + CHUNK_ROWS], report, source)
        if on_progress is not None:
            on_progress(min(start + CHUNK_ROWS, len(rows)))
    return report


def _import_accounts(rows: list[dict], report: ImportReport, source: str) -> None:
    by_domain = {row["domain"]: row for row in rows}  # the last row for a domain wins
    with transaction.atomic():
        existing = Account.objects.in_bulk(list(by_domain), field_name="domain")
        changed = [
            account
            for domain, account in existing.items()
            if by_domain[domain]["name"] and account.name != by_domain[domain]["name"]
        ]
        for account in changed:
            account.name = by_domain[account.domain]["name"]
        Account.objects.bulk_update(changed, ["name"])
        Account.objects.bulk_create(
            [Account(domain=d, name=row["name"] or d) for d, row in by_domain.items() if d not in existing],
            ignore_conflicts=True,
        )
    report.updated += len(changed)
    report.created += len(by_domain) - len(existing)
    report.duplicates += len(rows) - len(by_domain) + len(existing) - len(changed)


def _accounts_for(rows: list[dict]) -> dict[str, Account]:
    wanted = {row["account_domain"]: row["account_name"] for row in rows if row.get("account_domain")}
    if not wanted:
        return {}
    existing = Account.objects.in_bulk(list(wanted), field_name="domain")
    Account.objects.bulk_create(
        [Account(domain=d, name=name or d) for d, name in wanted.items() if d not in existing],
        ignore_conflicts=True,
    )
    return Account.objects.in_bulk(list(wanted), field_name="domain")


def _import_leads(rows: list[dict], report: ImportReport, source: str) -> None:
    by_email = {row["email"]: row for row in rows}
    with transaction.atomic():
        accounts = _accounts_for(list(by_email.values()))
        existing = {lead.email: lead for lead in Lead.objects.filter(email__in=list(by_email))}
        previous_accounts = {lead.account_id for lead in existing.values() if lead.account_id}
        changed = []
        for email, lead in existing.items():
            if _apply_lead_row(lead, by_email[email], accounts):
                changed.append(lead)
        Lead.objects.bulk_update(changed, ["name", "title", "account"])
        fresh = [Lead(email=email) for email in by_email if email not in existing]
        for lead in fresh:
            _apply_lead_row(lead, by_email[lead.email], accounts)
        Lead.objects.bulk_create(fresh, ignore_conflicts=True)
        _tag_leads(by_email)
        touched = {a.pk for a in accounts.values()} | previous_accounts
        if touched:
            accounts_rollup(account_ids=touched)
    report.created += len(fresh)
    report.updated += len(changed)
    report.duplicates += len(rows) - len(fresh) - len(changed)


def _apply_lead_row(lead: Lead, row: dict, accounts: dict[str, Account]) -> bool:
    """Non-empty cells overwrite; empty cells keep what the lead has. True when something changed."""
    values = {"name": row["name"], "title": row["title"], "account": accounts.get(row["account_domain"])}
    changed = False
    for attribute, value in values.items():
        if value not in (None, "") and getattr(lead, attribute) != value:
            setattr(lead, attribute, value)
            changed = True
    return changed


def _tag_leads(by_email: dict[str, dict]) -> None:
    names = {tag for row in by_email.values() for tag in row["tags"]}
    if not names:
        return
    Tag.objects.bulk_create([Tag(name=name) for name in names], ignore_conflicts=True)
    tags = Tag.objects.in_bulk(list(names), field_name="name")
    leads = dict(
        Lead.objects.filter(email__in=[e for e, row in by_email.items() if row["tags"]]).values_list(
            "email", "id"
        )
    )
    through = Lead.tags.through
    through.objects.bulk_create(
        [
            through(lead_id=leads[email], tag_id=tags[name].pk)
            for email, row in by_email.items()
            if email in leads
            for name in row["tags"]
        ],
        ignore_conflicts=True,
    )


def _import_events(rows: list[dict], report: ImportReport, source: str) -> None:
    emails = {row["email"] for row in rows}
    known = dict(Lead.objects.filter(email__in=emails).values_list("email", "id"))
    if emails - known.keys():
        Lead.objects.bulk_create(
            [Lead(email=email) for email in sorted(emails - known.keys())], ignore_conflicts=True
        )
        known = dict(Lead.objects.filter(email__in=emails).values_list("email", "id"))
    events = [
        NewEvent(
            type=row["type"],
            occurred_at=row["occurred_at"],
            lead_id=known[row["email"]],
            idempotency_key=row["idempotency_key"],
            name=row["name"],
            url=row["url"],
            asset_key=row["asset"],
            campaign=row["campaign"],
            properties=row["properties"],
            source=source,
        )
        for row in rows
    ]
    result = events_ingest(events=events)
    report.created += len(result.stored)
    report.duplicates += result.duplicates


_IMPORTERS = {
    CsvImport.Kind.LEADS: _import_leads,
    CsvImport.Kind.ACCOUNTS: _import_accounts,
    CsvImport.Kind.EVENTS: _import_events,
}
# Checks that need the database (does this email exist?), set-based over all valid rows:
# they move rows into the error report before anything is imported.
_ROW_CHECKS: dict[str, Callable[[CheckedCsv], None]] = {}


def csv_kind_register(
    kind: str,
    *,
    required: tuple[str, ...],
    optional: tuple[str, ...],
    clean: Callable[[dict, datetime], dict],
    store: Callable[[list[dict], ImportReport, str], None],
    check_rows: Callable[[CheckedCsv], None] | None = None,
) -> None:
    """Another app's file kind (models_review's outcomes) joins the same upload, preview,
    error report and command, without leads importing that app."""
    COLUMNS[kind] = {"required": required, "optional": optional}
    _CLEANERS[kind], _IMPORTERS[kind] = clean, store
    if check_rows is not None:
        _ROW_CHECKS[kind] = check_rows


# --- the stored upload (browser flow) -------------------------------------------------------


# Above this many lines a file is checked and imported by a worker (a progress bar polls it),
# so no web request of the flow holds a 10,000-row file in a transaction for seconds.
BACKGROUND_ROWS = 2000
IMPORT_QUEUE = "default"


def csv_upload_create(
    *, kind: str, file_name: str, data: bytes, by=None
) -> tuple[CsvImport, CheckedCsv | None]:
    """Store an upload and its check; a large file is checked by a worker (checked is None)."""
    text = csv_decode(data)
    if text.count("\n") > BACKGROUND_ROWS:
        _header_check(kind, text)
        upload = CsvImport.objects.create(
            kind=kind,
            file_name=file_name[:255],
            content=text,
            status=CsvImport.Status.CHECKING,
            total_rows=text.count("\n"),  # an estimate for the bar until the check counts rows
            created_by=by,
        )
        enqueue_or_outbox(
            IMPORT_QUEUE,
            "leads.background.jobs.csv_upload_check",
            reference=_reference(upload),
            upload_id=upload.pk,
        )
        return upload, None
    checked = csv_check(kind=kind, text=text)
    upload = CsvImport.objects.create(
        kind=kind, file_name=file_name[:255], content=text, created_by=by, **_checked_fields(checked)
    )
    return upload, checked


def csv_upload_preview(*, upload: CsvImport) -> dict:
    """The header, first rows and unused columns the check kept (checked again for an upload
    stored before the check kept them)."""
    if not upload.preview:
        fields = _checked_fields(csv_check(kind=upload.kind, text=upload.content))
        CsvImport.objects.filter(pk=upload.pk).update(**fields)
        for name, value in fields.items():
            setattr(upload, name, value)
    return upload.preview


def csv_upload_check(*, upload_id: int) -> None:
    """The worker's check of a large upload; the progress counts lines read."""
    upload = CsvImport.objects.get(pk=upload_id)
    if upload.status != CsvImport.Status.CHECKING:
        return  # checked already (a job taken twice)
    try:
        checked = csv_check(kind=upload.kind, text=upload.content, on_progress=_progress_writer(upload_id))
    except CsvFileError as problem:
        _background_fail(upload_id, CsvImport.Status.CHECKING, str(problem))
        return
    CsvImport.objects.filter(pk=upload_id, status=CsvImport.Status.CHECKING).update(
        status=CsvImport.Status.PREVIEWED, progress_rows=0, **_checked_fields(checked)
    )


def csv_upload_import(*, upload: CsvImport) -> ImportReport | None:
    """Import a previewed upload once; the file content is dropped afterwards. A large file
    goes to a worker (returns None): the page then shows its progress."""
    with transaction.atomic():
        upload = CsvImport.objects.select_for_update().get(pk=upload.pk)
        if upload.status == CsvImport.Status.IMPORTED:
            raise ValueError("This file was already imported.")
        if upload.status != CsvImport.Status.PREVIEWED:
            raise ValueError(
                f"This file cannot be imported now: it is {upload.get_status_display().lower()}."
            )
        if upload.total_rows > BACKGROUND_ROWS:
            upload.status, upload.progress_rows, upload.failure = CsvImport.Status.IMPORTING, 0, ""
            upload.save(update_fields=["status", "progress_rows", "failure"])
            enqueue_or_outbox(
                IMPORT_QUEUE,
                "leads.background.jobs.csv_upload_import",
                reference=_reference(upload),
                upload_id=upload.pk,
            )
            return None
        checked = csv_check(kind=upload.kind, text=upload.content)
        report = csv_import(checked=checked, source=_source(upload))
        _imported(upload.pk, checked, report)
    return report


def csv_upload_import_background(*, upload_id: int) -> None:
    """The worker's import of a large upload, a chunk per transaction, so the page sees the
    progress. A worker that dies midway leaves it importing; taken again, it stores nothing twice."""
    upload = CsvImport.objects.get(pk=upload_id)
    if upload.status != CsvImport.Status.IMPORTING:
        return
    checked = csv_check(kind=upload.kind, text=upload.content)
    report = csv_import(checked=checked, source=_source(upload), on_progress=_progress_writer(upload_id))
    _imported(upload_id, checked, report)


def csv_upload_release_stalled(*, upload: CsvImport) -> CsvImport:
    """Give back an upload whose background job ended without finishing it (a worker killed
    mid-file, a job lost with Redis), so it never says "importing" forever: a check fails with
    the reason; an import returns to its preview with a note, and importing it again stores
    nothing twice (rows already in are recognised by their keys)."""
    if not upload.in_background:
        return upload
    why = job_ended_unfinished(_reference(upload))
    if why is None:
        return upload
    if upload.status == CsvImport.Status.CHECKING:
        fields = {
            "status": CsvImport.Status.FAILED,
            "failure": f"The check of this file stopped: {why}. Upload the file again.",
        }
    else:
        fields = {
            "status": CsvImport.Status.PREVIEWED,
            "failure": (
                f"The import stopped after {upload.progress_rows:,} of {upload.valid_rows:,} rows: {why}. "
                "Press Import to finish it: the rows already imported are recognised and not stored twice."
            ),
        }
    CsvImport.objects.filter(pk=upload.pk, status=upload.status).update(**fields)
    upload.refresh_from_db()
    return upload


def _imported(upload_id: int, checked: CheckedCsv, report: ImportReport) -> None:
    CsvImport.objects.filter(pk=upload_id).update(
        status=CsvImport.Status.IMPORTED,
        failure="",
        imported_at=timezone.now(),
        imported_rows=report.imported,
        duplicate_rows=report.duplicates,
        total_rows=checked.total_rows,
        valid_rows=len(checked.rows),
        progress_rows=len(checked.rows),
        errors=checked.errors,
        content="",
    )


def _checked_fields(checked: CheckedCsv) -> dict:
    return {
        "total_rows": checked.total_rows,
        "valid_rows": len(checked.rows),
        "errors": checked.errors,
        "preview": {
            "header": checked.header,
            "rows": [[line, values] for line, values in checked.preview],
            "ignored_columns": checked.ignored_columns,
        },
    }


def _header_check(kind: str, text: str) -> None:
    """The errors that make the whole file unusable are said at upload, not after a wait."""
    if kind not in COLUMNS:
        raise CsvFileError("kind", f"must be one of {', '.join(COLUMNS)}")
    try:
        header = next(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    except StopIteration:
        raise CsvFileError("file", "the file is empty; the first line must name the columns") from None
    except csv.Error as problem:
        raise CsvFileError("file", f"line 1: {problem}") from None
    _columns(kind, header)


def _progress_writer(upload_id: int) -> Callable[[int], None]:
    def write(rows: int) -> None:
        CsvImport.objects.filter(pk=upload_id).update(progress_rows=rows)

    return write


def _background_fail(upload_id: int, status: str, reason: str) -> None:
    CsvImport.objects.filter(pk=upload_id, status=status).update(
        status=CsvImport.Status.FAILED, failure=reason
    )


def _reference(upload: CsvImport) -> str:
    return f"csv-import:{upload.pk}"


def _source(upload: CsvImport) -> str:
    return f"csv:{upload.file_name}"[:100]
