"""No script from data (issue 14, part 2): every door takes http(s) addresses only, and a
URL that is not one never renders as a link."""

from __future__ import annotations

import json
from importlib import import_module

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.urls import reverse

from core.weblinks import is_web_url, validate_web_url, web_link
from tests.factories import CitationFactory, PledgeFactory, SourceFactory
from transfers.exporters import export_document, export_json
from transfers.importers import import_file
from transfers.models import Citation, Pledge, Source

pytestmark = pytest.mark.django_db

BAD_URLS = [
    "javascript:alert(document.cookie)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "ftp://example.org/file",
    "//evil.example/x",
]


@pytest.mark.parametrize("url", BAD_URLS)
def test_the_one_validator_refuses_what_is_not_http_and_names_the_value(url):
    with pytest.raises(ValidationError) as caught:
        validate_web_url(url)
    assert url[:20] in str(caught.value) and "http" in str(caught.value)
    assert not is_web_url(url)


def test_the_one_validator_takes_http_and_https():
    for url in ("http://example.org/a?b=1", "https://example.org/"):
        validate_web_url(url)
        assert is_web_url(url)


def test_web_link_is_a_link_only_for_web_addresses():
    assert web_link("https://example.org/", "open") == '<a href="https://example.org/">open</a>'
    assert web_link("javascript:alert(1)", "<b>open</b>") == "&lt;b&gt;open&lt;/b&gt;"


@pytest.mark.parametrize("field", ["url", "archive_url"])
def test_the_api_refuses_a_script_url_naming_the_field(api_client_for, editor, field):
    body = {"title": "A report", field: "javascript:alert(1)"}
    if field == "archive_url":
        body["url"] = "https://example.org/report"
    response = api_client_for(editor).post("/api/v1/sources/", body, format="json")
    assert response.status_code == 400, response.content
    assert "javascript:alert(1)" in " ".join(response.json()[field])
    assert not Source.objects.exists()


def test_the_admin_form_refuses_a_script_url(editor_client):
    response = editor_client.post(
        reverse("admin:transfers_source_add"),
        {
            "title": "A report",
            "url": "javascript:alert(1)",
            "source_type": "news",
            "reliability": "F",
        },
    )
    assert response.status_code == 200
    assert "not a web address" in response.content.decode() or "valid URL" in (
        response.content.decode()
    )
    assert not Source.objects.exists()


def _native_document(url: str, archive_url: str = "") -> bytes:
    pledge = PledgeFactory()
    CitationFactory(
        pledge=pledge, transfer=None, source=SourceFactory(url="https://example.org/ok")
    )
    document = export_document()
    source = document["records"]["pledge"][0]["citations"][0]["source"]
    source["url"] = url
    source["archive_url"] = archive_url
    Citation.objects.all().delete()
    Pledge.objects.all().delete()
    Source.objects.all().delete()
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    "url, archive_url, column",
    [
        ("javascript:alert(1)", "", "citations.source.url"),
        ("https://example.org/ok", "javascript:alert(2)", "citations.source.archive_url"),
    ],
)
def test_the_native_importer_refuses_script_urls_and_writes_nothing(url, archive_url, column):
    data = _native_document(url, archive_url)
    report = import_file("stockpile", data)
    assert not report.written
    assert [(e.field, e.value) for e in report.errors] == [(column, archive_url or url)]
    assert not Pledge.objects.exists() and not Source.objects.exists()


def test_the_admin_import_refuses_a_script_url(editor_client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = _native_document("javascript:alert(1)")
    response = editor_client.post(
        reverse("admin:transfers_import"),
        {"format": "stockpile", "file": SimpleUploadedFile("x.json", data)},
    )
    assert "citations.source.url" in response.content.decode()
    assert not Pledge.objects.exists()


@pytest.fixture
def script_source(db):
    """A source holding a script URL, as an import before this issue could leave it."""
    pledge = PledgeFactory(notes="a pledge")
    source = SourceFactory(url="https://example.org/fine", title="Evil source")
    CitationFactory(pledge=pledge, transfer=None, source=source)
    Source.objects.filter(pk=source.pk).update(
        url="javascript:alert(1)", archive_url="javascript:alert(2)"
    )
    return Source.objects.get(pk=source.pk)


def test_admin_pages_never_link_a_script_url(admin_client, script_source):
    pages = [
        reverse("admin:transfers_source_changelist"),
        reverse("admin:transfers_source_change", args=[script_source.pk]),
    ]
    for page in pages:
        body = admin_client.get(page).content.decode()
        assert 'href="javascript:' not in body.lower(), page


def test_the_explanation_never_links_a_script_url(script_source):
    from stock.admin import _citations_html

    html = _citations_html(list(Citation.objects.select_related("source")))
    assert "javascript:" not in html and "Evil source" in html


def test_report_emails_never_link_a_script_url(db):
    from django.core import mail

    from reports.services import report_deliver
    from tests.reports.test_reports import backdate, daily_subscriber

    pledge = PledgeFactory(notes="a pledge")
    source = SourceFactory(url="https://example.org/fine", title="Evil source")
    CitationFactory(pledge=pledge, transfer=None, source=source)
    Source.objects.filter(pk=source.pk).update(url="javascript:alert(1)")
    subscription = daily_subscriber()
    backdate()

    report_deliver(subscription_id=subscription.pk)

    (message,) = mail.outbox
    html = message.alternatives[0][0]
    assert "Evil source" in html and "javascript:" not in html
    assert "javascript:" not in message.body


def test_the_migration_blanks_script_urls_and_keeps_a_note(script_source):
    migration = import_module("transfers.migrations.0007_source_web_urls_only")
    good = SourceFactory(url="https://example.org/good", archive_url="https://archive.org/x")

    migration.blank_non_web_urls(apps, None)

    script_source.refresh_from_db()
    assert script_source.url == "" and script_source.archive_url == ""
    assert script_source.url_canonical == ""
    assert "javascript:alert(1)" in script_source.notes and "was removed" in script_source.notes
    good.refresh_from_db()
    assert good.url == "https://example.org/good" and good.archive_url == "https://archive.org/x"
    assert json.loads(export_json())  # the cleaned source still exports
