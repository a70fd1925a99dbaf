"""The outcomes CSV (§11): sales labels from outside the app, through the same upload,
preview, per-row error report and `manage.py import_csv outcomes FILE` as the other imports.

Columns: email, at (ISO date or instant), really_sales_ready (yes/no/blank), outcome
(opportunity/won/lost/blank), reason, rep (a username, optional). A row needs a verdict or
an outcome. Each row's identity is a digest of its content, so importing a file again adds
nothing; the same lead may have several rows (a verdict, later an outcome)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime

from django.contrib.auth import get_user_model
from django.db import transaction

from leads.ingest import imports
from leads.ingest.validation import InvalidValue, check_instant
from leads.models import CsvImport, Lead
from models_review.models import OutcomeLabel, SalesFeedback

YES, NO = ("yes", "y", "true", "1"), ("no", "n", "false", "0")
REASONS = {value: value for value in SalesFeedback.Reason.values} | {
    label.lower(): value for value, label in SalesFeedback.Reason.choices
}


def clean_outcome_row(raw: dict, now: datetime) -> dict:
    email = imports._email(raw)
    verdict = raw.get("really_sales_ready", "").lower()
    if verdict and verdict not in YES + NO:
        raise imports.RowError("really_sales_ready", f"{verdict[:20]!r} is not yes, no or blank")
    outcome = raw.get("outcome", "").lower()
    if outcome and outcome not in SalesFeedback.Outcome.values:
        raise imports.RowError(
            "outcome", f"{outcome[:20]!r} is not one of {', '.join(SalesFeedback.Outcome.values)} or blank"
        )
    if not verdict and not outcome:
        raise imports.RowError("really_sales_ready", "give really_sales_ready or outcome (or both)")
    reason = _reason(raw.get("reason", ""))
    return {
        "email": email,
        "at": _instant(raw.get("at", ""), now),
        "really_sales_ready": None if not verdict else verdict in YES,
        "outcome": outcome,
        "reason": reason,
        "rep": imports._text(raw, "rep", 150),
    }


def _reason(value: str) -> str:
    """A reason code (no_budget) or its label (No budget); blank is allowed."""
    if not value:
        return ""
    code = REASONS.get(value.lower()) or REASONS.get(value.lower().replace(" ", "_"))
    if code is None:
        raise imports.RowError(
            "reason", f"{value[:30]!r} is not one of {', '.join(SalesFeedback.Reason.values)}"
        )
    return code


def _instant(value: str, now: datetime) -> datetime:
    if not value:
        raise imports.RowError("at", "missing")
    try:
        parsed = datetime.fromisoformat(value) if "T" in value or " " in value else None
        if parsed is None:
            day = date.fromisoformat(value)
            parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError:
        raise imports.RowError(
            "at", f"{value[:40]!r} is not a date such as 2026-01-31 or 2026-01-31T09:30:00Z"
        ) from None
    try:
        return check_instant(parsed, "at", now=now)
    except InvalidValue as problem:
        raise imports.RowError(problem.field, problem.reason) from None


def check_outcome_rows(checked: imports.CheckedCsv) -> None:
    """Unknown emails and reps become row errors: an outcome must belong to a lead we track."""
    emails = {row["email"] for _, row in checked.rows}
    reps = {row["rep"] for _, row in checked.rows if row["rep"]}
    known_emails = set(Lead.objects.filter(email__in=emails).values_list("email", flat=True))
    User = get_user_model()
    known_reps = set(User.objects.filter(username__in=reps).values_list("username", flat=True))
    kept = []
    for line, row in checked.rows:
        if row["email"] not in known_emails:
            checked.errors.append(
                {"line": line, "field": "email", "reason": f"no lead has the email {row['email']}"}
            )
        elif row["rep"] and row["rep"] not in known_reps:
            checked.errors.append(
                {"line": line, "field": "rep", "reason": f"no user is called {row['rep'][:60]!r}"}
            )
        else:
            kept.append((line, row))
    checked.rows = kept
    checked.errors.sort(key=lambda error: error["line"])


def row_key(row: dict) -> str:
    content = "\x1f".join(
        [
            row["email"],
            row["at"].isoformat(),
            str(row["really_sales_ready"]),
            row["outcome"],
            row["reason"],
            row["rep"],
        ]
    )
    return hashlib.sha256(content.encode()).hexdigest()


def store_outcome_rows(rows: list[dict], report: imports.ImportReport, source: str) -> None:
    by_key = {row_key(row): row for row in rows}
    with transaction.atomic():
        leads = dict(Lead.objects.filter(email__in={r["email"] for r in rows}).values_list("email", "id"))
        reps = dict(
            get_user_model()
            .objects.filter(username__in={r["rep"] for r in rows if r["rep"]})
            .values_list("username", "id")
        )
        existing = set(OutcomeLabel.objects.filter(key__in=list(by_key)).values_list("key", flat=True))
        OutcomeLabel.objects.bulk_create(
            [
                OutcomeLabel(
                    lead_id=leads[row["email"]],
                    rep_id=reps.get(row["rep"]),
                    really_sales_ready=row["really_sales_ready"],
                    outcome=row["outcome"],
                    reason=row["reason"],
                    at=row["at"],
                    source=source,
                    key=key,
                )
                for key, row in by_key.items()
                if key not in existing
            ],
            ignore_conflicts=True,
        )
    report.created += len(by_key) - len(existing)
    report.duplicates += len(rows) - len(by_key) + len(existing)


def register() -> None:
    imports.csv_kind_register(
        CsvImport.Kind.OUTCOMES,
        required=("email", "at"),
        optional=("really_sales_ready", "outcome", "reason", "rep"),
        clean=clean_outcome_row,
        store=store_outcome_rows,
        check_rows=check_outcome_rows,
    )
