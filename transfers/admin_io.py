"""Import and export in the admin.

- *Import a dataset* (a button on every record list, `admin:transfers_import`): upload a
  file and pick its format; the import runs first as a dry run and shows its report (the
  preview); *Confirm import* runs it for real, as the editor, with the same code as
  `manage.py import`. The uploaded file waits between the two steps in
  `STOCKPILE_VAR_DIR/imports/`, under a random token kept in the session.
- *Export*: the actions "Export selected … as CSV / JSON / XLSX" on every record list,
  and the *Export CSV/JSON/XLSX* buttons (every record of that type).

Imported here from the end of transfers/admin.py.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path

from core.admin_access import requires
from transfers.exporters import EXPORTERS, RECORD_TYPES
from transfers.importers import IMPORTERS, import_file

SESSION_KEY = "stockpile_import_pending"
MAX_UPLOAD = 200 * 1024 * 1024


class ImportForm(forms.Form):
    format = forms.ChoiceField(
        choices=[(name, f"{cls.label} ({name})") for name, cls in IMPORTERS.items()]
    )
    file = forms.FileField()
    release = forms.CharField(
        required=False,
        help_text="Name of the release, for files that do not state one (Oryx, Kiel).",
    )
    skip_bad_rows = forms.BooleanField(
        required=False, help_text="Import the good rows and list the bad ones."
    )


def _pending_dir() -> Path:
    folder = Path(settings.VAR_DIR) / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


IMPORT_PERMISSIONS = tuple(
    f"transfers.{verb}_{name}"
    for name in ("holding", "pledge", "transfer", "expenditure", "source", "citation")
    for verb in ("add", "change")
)


@requires(*IMPORT_PERMISSIONS)
def import_view(request):
    context = {**admin.site.each_context(request), "title": "Import a dataset"}
    if request.method == "POST" and "confirm" in request.POST:
        pending = request.session.get(SESSION_KEY) or {}
        token = request.POST.get("token", "")
        if not token or pending.get("token") != token:
            messages.error(request, "This import is no longer pending; upload the file again.")
            return redirect("admin:transfers_import")
        stored = _pending_dir() / f"{token}.bin"
        if not stored.is_file():
            messages.error(request, "The uploaded file has expired; upload it again.")
            return redirect("admin:transfers_import")
        report = import_file(
            pending["format"],
            stored.read_bytes(),
            filename=pending["filename"],
            release=pending["release"],
            skip_bad_rows=pending["skip_bad_rows"],
            actor=request.user,
        )
        stored.unlink(missing_ok=True)
        request.session.pop(SESSION_KEY, None)
        level = messages.SUCCESS if report.written else messages.ERROR
        messages.add_message(request, level, report.summary_lines()[0])
        return TemplateResponse(
            request,
            "admin/transfers/import.html",
            {**context, "report": report, "preview": False, "form": ImportForm()},
        )
    form = ImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > MAX_UPLOAD:
            form.add_error("file", f"The file is larger than {MAX_UPLOAD // 2**20} MB.")
        else:
            data = upload.read()
            options = {
                "format": form.cleaned_data["format"],
                "filename": upload.name,
                "release": form.cleaned_data["release"],
                "skip_bad_rows": form.cleaned_data["skip_bad_rows"],
            }
            report = import_file(
                options["format"],
                data,
                filename=upload.name,
                release=options["release"],
                skip_bad_rows=options["skip_bad_rows"],
                dry_run=True,
                actor=request.user,
            )
            token = secrets.token_urlsafe(24)
            if report.ok:
                (_pending_dir() / f"{token}.bin").write_bytes(data)
                request.session[SESSION_KEY] = {"token": token, **options}
            return TemplateResponse(
                request,
                "admin/transfers/import.html",
                {**context, "report": report, "preview": True, "token": token, "form": None},
            )
    return TemplateResponse(request, "admin/transfers/import.html", {**context, "form": form})


def _download(data: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@requires("transfers.view_{record_type}")
def export_view(request, record_type: str, fmt: str):
    model = RECORD_TYPES.get(record_type)
    if model is None or fmt not in EXPORTERS:
        raise Http404("No such export")
    export, content_type, extension = EXPORTERS[fmt]
    return _download(export({model: None}), content_type, f"stockpile-{record_type}.{extension}")


def _export_action(fmt: str):
    export, content_type, extension = EXPORTERS[fmt]

    def action(modeladmin, request, queryset):
        name = modeladmin.model._meta.model_name
        data = export({modeladmin.model: queryset})
        return _download(data, content_type, f"stockpile-{name}-selected.{extension}")

    action.__name__ = f"export_selected_{fmt}"
    action.short_description = f"Export selected %(verbose_name_plural)s as {fmt.upper()}"
    action.allowed_permissions = ("view",)
    return action


EXPORT_ACTIONS = [_export_action(fmt) for fmt in EXPORTERS]


def _install() -> None:
    for model in RECORD_TYPES.values():
        model_admin = admin.site._registry.get(model)
        if model_admin is None:
            continue
        model_admin.actions = [*(model_admin.actions or []), *EXPORT_ACTIONS]
        model_admin.change_list_template = "admin/transfers/change_list_io.html"
        original = model_admin.changelist_view

        def changelist_view(request, extra_context=None, _original=original):
            extra = {"export_formats": list(EXPORTERS), **(extra_context or {})}
            return _original(request, extra_context=extra)

        model_admin.changelist_view = changelist_view

    site = admin.site
    original_get_urls = site.get_urls

    def get_urls():
        return [
            path("transfers/import/", site.admin_view(import_view), name="transfers_import"),
            path(
                "transfers/export/<str:record_type>/<str:fmt>/",
                site.admin_view(export_view),
                name="transfers_export",
            ),
            *original_get_urls(),
        ]

    site.get_urls = get_urls


_install()
