from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from leads.ingest.imports import CsvFileError, csv_check, csv_decode, csv_import
from leads.models import Account, CsvImport, Event, Lead
from tests.conftest import day
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

HEADER = "email,type,timestamp,name,points,reason"
# index in the data rows → (bad row, field reported)
BAD_ROWS = {
    10: ("lead10@example.com,form_submit,2026-01-01T09:00:00Z", "row"),  # too few columns
    200: ("lead0@example.com,form_submit,2026-01-01T09:00:00Z,,,,extra", "row"),  # too many
    400: ("not-an-email,form_submit,2026-01-01T09:00:00Z,,,", "email"),
    600: ("lead6@exa mple.com,form_submit,2026-01-01T09:00:00Z,,,", "email"),
    800: ("lead8@example.com,manual,2026-01-01T09:00:00Z,,five,bonus", "points"),
    900: ("lead9@example.com,form_submit,31/01/2026 9am,,,", "timestamp"),
    999: ("lead9@example.com,page_visit,2026-01-01T09:00:00Z,,,", "type"),
}


def events_csv() -> bytes:
    lines = [HEADER]
    for index in range(1000):
        at = (day(0) + timedelta(minutes=index)).isoformat()
        if index in BAD_ROWS:
            lines.append(BAD_ROWS[index][0])
        elif index == 2:  # a quoted newline: this row spans lines 4 and 5 of the file
            lines.append(f'lead2@example.com,manual,{at},,5,"great call,\nfollow up"')
        elif index % 10 == 3:
            lines.append(f"lead{index % 100}@example.com,custom,{at},Trial Started,,")
        else:
            lines.append(f"lead{index % 100}@example.com,form_submit,{at},,,")
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode()  # a BOM, as Excel writes


def test_1000_rows_with_7_bad_imports_993_and_reports_the_7_by_line(spec_model):
    checked = csv_check(kind="events", text=csv_decode(events_csv()))
    # lines: header is 1, data row i is line i + 2, and i + 3 after the two-line row 2
    assert [(e["line"], e["field"]) for e in checked.errors] == [
        (13, "row"),
        (203, "row"),
        (403, "email"),
        (603, "email"),
        (803, "points"),
        (903, "timestamp"),
        (1002, "type"),
    ]
    assert "expected 6 columns, found 3" in checked.errors[0]["reason"]
    assert "'five' is not a number" in checked.errors[4]["reason"]
    report = csv_import(checked=checked)
    assert (report.created, report.duplicates) == (993, 0)
    assert Event.objects.count() == 993 and Lead.objects.count() == 100
    manual = Event.objects.get(type="manual")
    assert manual.properties == {"points": 5.0, "reason": "great call,\nfollow up"}


def test_reimporting_the_same_file_creates_no_duplicates(spec_model):
    for _ in range(2):
        report = csv_import(checked=csv_check(kind="events", text=csv_decode(events_csv())))
    assert (report.created, report.duplicates) == (0, 993)
    assert Event.objects.count() == 993


def test_identical_rows_are_separate_events_and_still_import_once(spec_model):
    text = (
        "email,type,timestamp\n"
        "a@example.com,form_submit,2026-01-01T09:00:00Z\n"
        "a@example.com,form_submit,2026-01-01T09:00:00Z\n"
    )
    for _ in range(2):
        csv_import(checked=csv_check(kind="events", text=text))
    assert Lead.objects.get(email="a@example.com").score == 50


def test_an_id_column_is_the_events_identity(spec_model):
    first = "id,email,type,timestamp\nE1,a@example.com,form_submit,2026-01-01T09:00:00Z\n"
    moved = "id,email,type,timestamp\nE1,a@example.com,form_submit,2026-01-01T10:00:00Z\n"
    csv_import(checked=csv_check(kind="events", text=first))
    report = csv_import(checked=csv_check(kind="events", text=moved))
    assert report.duplicates == 1 and Event.objects.get().idempotency_key == "csv:E1"


def test_event_rows_score_by_spec_numbers(spec_model):
    text = (
        "email,type,timestamp,name,percent\n"
        "a@example.com,form_submit,2026-01-01T09:00:00Z,,\n"
        "a@example.com,custom,2026-01-01T10:00:00Z,Trial Started,\n"
        "a@example.com,video_play,2026-01-01T11:00:00+00:00,,50\n"
        "a@example.com,video_play,2026-01-01T12:00:00,,150\n"
    )
    checked = csv_check(kind="events", text=text)
    assert checked.errors == [
        {"line": 5, "field": "percent", "reason": "a video_play row needs percent watched between 0 and 100"}
    ]
    csv_import(checked=checked)
    lead = Lead.objects.get(email="a@example.com")
    assert (lead.score, lead.stage) == (65, 2)  # 25 + 30 + 20 × 50 %


def test_leads_import_upserts_by_email_with_accounts_and_tags(spec_model):
    LeadFactory(email="ana@example.com", name="Ana", title="Analyst")
    text = (
        "Email,Name,Title,Company Domain,Company,Tags\n"
        "ANA@example.com,,CTO,initech.example,Initech,vip; conference\n"
        "bo@example.com,Bo,,initech.example,Initech,conference\n"
        "bad@,Nobody,,,,\n"
    )
    checked = csv_check(kind="leads", text=text)
    assert checked.errors == [{"line": 4, "field": "email", "reason": "'bad@' is not a valid email address"}]
    for _ in range(2):
        report = csv_import(checked=checked)
    assert Lead.objects.count() == 2 and Account.objects.count() == 1
    ana = Lead.objects.get(email="ana@example.com")
    assert (ana.name, ana.title, ana.account.name) == ("Ana", "CTO", "Initech")
    assert sorted(ana.tags.values_list("name", flat=True)) == ["conference", "vip"]
    assert (report.created, report.updated, report.duplicates) == (0, 0, 2)
    assert Account.objects.get().member_count == 2


def test_accounts_import_and_bad_domains(spec_model):
    text = "domain,name\nhttps://www.initech.example/about,Initech\nnot a domain,Broken\nglobex.example,\n"
    checked = csv_check(kind="accounts", text=text)
    assert [(e["line"], e["field"]) for e in checked.errors] == [(3, "domain")]
    csv_import(checked=checked)
    assert dict(Account.objects.values_list("domain", "name")) == {
        "www.initech.example": "Initech",
        "globex.example": "globex.example",
    }


def test_a_missing_required_column_names_it():
    with pytest.raises(CsvFileError) as problem:
        csv_check(kind="events", text="email,timestamp\na@example.com,2026-01-01\n")
    assert problem.value.field == "type"


def test_a_file_that_is_not_utf8_is_refused_clearly():
    with pytest.raises(CsvFileError) as problem:
        csv_decode("email\nbjørn@example.com\n".encode("latin-1"))
    assert "UTF-8" in problem.value.reason


def test_management_command_reports_errors_by_line(spec_model, tmp_path: Path):
    path = tmp_path / "events.csv"
    path.write_bytes(events_csv())
    out, err = StringIO(), StringIO()
    call_command("import_csv", "events", str(path), stdout=out, stderr=err)
    assert "993 imported" in out.getvalue()
    assert "line 803: points: 'five' is not a number" in err.getvalue()
    call_command("import_csv", "events", str(path), stdout=out, stderr=err)
    assert "0 imported (0 new, 0 updated), 993 already known" in out.getvalue()


# --- the browser flow ---------------------------------------------------------------------


def upload(client, kind, data, name="events.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post("/leads/imports/", {"kind": kind, "file": SimpleUploadedFile(name, data, "text/csv")})


def test_upload_previews_then_imports_on_confirmation(client, spec_model, marketer):
    client.force_login(marketer)
    response = upload(client, "events", events_csv())
    assert response.status_code == 302
    detail = client.get(response["Location"])
    page = detail.content.decode()
    assert 'id="valid-rows">993<' in page and 'id="error-rows">7<' in page
    assert "great call," in page and '<td class="num">803</td>' in page
    assert not Event.objects.exists()  # nothing stored before the marketer confirms
    upload_row = CsvImport.objects.get()
    client.post(f"/leads/imports/{upload_row.pk}/import")
    upload_row.refresh_from_db()
    assert (upload_row.status, upload_row.imported_rows, upload_row.content) == ("imported", 993, "")
    assert Event.objects.count() == 993
    again = client.post(f"/leads/imports/{upload_row.pk}/import", follow=True)
    assert "already imported" in again.content.decode() and Event.objects.count() == 993


def test_upload_page_escapes_file_content(client, spec_model, marketer):
    client.force_login(marketer)
    response = upload(
        client, "leads", b"email,name\nx@example.com,<script>alert(1)</script>\n", name="<b>x</b>.csv"
    )
    page = client.get(response["Location"]).content.decode()
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)" in page
    assert "<b>x</b>" not in page


def test_upload_with_a_missing_column_shows_the_error_on_the_form(client, spec_model, marketer):
    client.force_login(marketer)
    response = upload(client, "events", b"email,when\na@example.com,today\n")
    assert response.status_code == 200 and "must name the column" in response.content.decode()
    assert not CsvImport.objects.exists()


def test_reps_cannot_import(client, spec_model, rep):
    client.force_login(rep)
    assert client.get("/leads/imports/").status_code == 403


def test_event_row_whose_timestamp_overflows_is_reported_and_the_rest_imported(spec_model):
    text = (
        "email,type,timestamp\n"
        "ana@example.com,form_submit,2026-01-01T09:00:00Z\n"
        "bo@example.com,form_submit,0001-01-01T00:00:00+05:00\n"
        "cy@example.com,form_submit,1900-01-01T00:00:00Z\n"
    )
    checked = csv_check(kind="events", text=text)
    assert [(e["line"], e["field"]) for e in checked.errors] == [(3, "timestamp"), (4, "timestamp")]
    assert "1970" in checked.errors[1]["reason"]
    assert csv_import(checked=checked).created == 1
    assert list(Event.objects.values_list("lead__email", flat=True)) == ["ana@example.com"]


def test_nul_byte_in_a_cell_is_a_row_error_naming_the_column(spec_model):
    checked = csv_check(kind="leads", text="email,name\nana@example.com,An\x00a\nbo@example.com,Bo\n")
    assert checked.errors == [
        {"line": 2, "field": "name", "reason": "contains a NUL character (\\u0000), which cannot be stored"}
    ]
    csv_import(checked=checked)
    assert list(Lead.objects.values_list("email", flat=True)) == ["bo@example.com"]


def test_two_rows_with_one_email_are_both_reported_and_neither_written(spec_model):
    existing = LeadFactory(email="ana@example.com", name="Ana", title="CTO")
    text = (
        "email,name,title,tags\nana@example.com,Ana Silva,CEO,vip\nbo@example.com,Bo,,\nANA@example.com,,,\n"
    )
    checked = csv_check(kind="leads", text=text)
    assert checked.errors == [
        {
            "line": 2,
            "field": "email",
            "reason": "ana@example.com is also on line 4; fix the file so each email appears once",
        },
        {
            "line": 4,
            "field": "email",
            "reason": "ana@example.com is also on line 2; fix the file so each email appears once",
        },
    ]
    report = csv_import(checked=checked)
    assert (report.created, report.updated, report.duplicates) == (1, 0, 0)
    existing.refresh_from_db()
    assert (existing.name, existing.title, list(existing.tags.all())) == ("Ana", "CTO", [])
