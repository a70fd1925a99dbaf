"""CSV import pages for marketers: upload → preview and error report → import."""

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from leads.ingest.imports import (
    COLUMNS,
    MAX_FILE_BYTES,
    CsvFileError,
    csv_upload_create,
    csv_upload_import,
    csv_upload_preview,
    csv_upload_release_stalled,
)
from leads.models import CsvImport
from leads.roles import marketer_required
from scoring_site.htmx import htmx_partial
from scoring_site.queueing import waiting_for_workers

ERRORS_SHOWN = 200


class UploadForm(forms.Form):
    kind = forms.ChoiceField(choices=CsvImport.Kind.choices, label="What the file holds")
    file = forms.FileField(label="CSV file (UTF-8, first line names the columns)")

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it."
            )
        return upload


@require_http_methods(["GET", "POST"])
@marketer_required
def imports(request):
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            created, _ = csv_upload_create(
                kind=form.cleaned_data["kind"], file_name=upload.name, data=upload.read(), by=request.user
            )
        except CsvFileError as problem:
            form.add_error("file", str(problem))
        else:
            return redirect("leads:import_detail", pk=created.pk)
    columns = [(kind.label, COLUMNS[kind]) for kind in CsvImport.Kind if kind in COLUMNS]
    recent = CsvImport.objects.select_related("created_by").defer("content")[:20]
    return render(request, "leads/imports.html", {"form": form, "columns": columns, "recent": recent})


@marketer_required
def import_detail(request, pk):
    upload = csv_upload_release_stalled(upload=get_object_or_404(CsvImport, pk=pk))
    if htmx_partial(request):
        if upload.in_background:
            return render(request, "leads/_import_progress.html", {"upload": upload, **_queue_state(upload)})
        return HttpResponse(headers={"HX-Refresh": "true"})  # finished: the whole report replaces the bar
    return render(
        request,
        "leads/import_detail.html",
        {
            "upload": upload,
            "preview": csv_upload_preview(upload=upload)
            if upload.status == CsvImport.Status.PREVIEWED
            else None,
            "errors": upload.errors[:ERRORS_SHOWN],
            "errors_hidden": max(0, len(upload.errors) - ERRORS_SHOWN),
            **(_queue_state(upload) if upload.in_background else {}),
        },
    )


def _queue_state(upload: CsvImport) -> dict:
    return {"waiting_for_workers": waiting_for_workers(f"csv-import:{upload.pk}")}


@require_POST
@marketer_required
def import_run(request, pk):
    upload = get_object_or_404(CsvImport, pk=pk)
    try:
        report = csv_upload_import(upload=upload)
    except ValueError as problem:
        messages.error(request, str(problem))
    else:
        if report is not None:
            messages.success(
                request,
                f"{report.imported:,} rows imported ({report.created:,} new, {report.updated:,} "
                f"updated); {report.duplicates:,} were already known.",
            )
    return redirect("leads:import_detail", pk=pk)
