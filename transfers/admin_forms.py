"""The admin's forms for the sourced records and sources: dates typed at their precision
("2024-11", "2024"), a confirmation before a record is saved without a citation, and a
duplicate source URL answered with a link to the source that has it (and, in the "+" popup
of a citation, a link that picks it)."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from core.admin_versions import ConcurrentEditForm
from core.forms import PartialDateFormMixin
from transfers.models import Source, canonical_url

CITATIONS_PREFIX = "citations"


def posted_citation_count(data) -> int:
    """How many citation rows of the admin's inline the posted form keeps: rows with a
    source that are not marked for deletion."""
    try:
        total = int(data.get(f"{CITATIONS_PREFIX}-TOTAL_FORMS", 0))
    except (TypeError, ValueError):
        return 0
    return sum(
        1
        for index in range(min(total, 1000))
        if data.get(f"{CITATIONS_PREFIX}-{index}-source")
        and not data.get(f"{CITATIONS_PREFIX}-{index}-DELETE")
    )


class RecordAdminForm(PartialDateFormMixin, ConcurrentEditForm):
    """A record's admin form. Saving it without any citation needs the box ticked."""

    save_without_source = forms.BooleanField(
        required=False,
        label="Save without a source",
        help_text="Every claim should cite a source (the citations below). Tick this to save "
        "the record without one anyway: it is then listed as UNSOURCED.",
    )

    def cited(self) -> bool:
        if f"{CITATIONS_PREFIX}-TOTAL_FORMS" in self.data:
            return posted_citation_count(self.data) > 0
        # A form without the citations (reverting to an earlier version from the history)
        # keeps the record's citations as they are.
        return self.instance.pk is not None and self.instance.citations.exists()

    def clean(self):
        cleaned = super().clean()
        if self.is_bound and not self.cited() and not cleaned.get("save_without_source"):
            self.add_error(
                "save_without_source",
                "This record cites no source. Add a citation below, or tick "
                "“Save without a source” to save it unsourced.",
            )
        return cleaned


class CitationInlineForm(forms.ModelForm):
    """A citation row; one pre-filled with the source kept from the previous record (Save
    and add another) is saved even when nothing else was typed into it."""

    def has_changed(self):
        kept = not self.instance.pk and self.initial.get("source")
        return super().has_changed() or bool(kept and self.data.get(self.add_prefix("source")))


class SourceAdminForm(PartialDateFormMixin, ConcurrentEditForm):
    partial_dates = (("published_on", "published_precision"),)
    popup_query = ""  # set by the admin when the form is shown in a "+" popup

    def clean_url(self):
        url = self.cleaned_data.get("url", "")
        if not url:
            return url
        existing = (
            Source.objects.filter(url_canonical=canonical_url(url))
            .exclude(pk=self.instance.pk)
            .first()
        )
        if existing is not None:
            change = reverse("admin:transfers_source_change", args=[existing.pk])
            if self.popup_query:
                use = reverse("admin:transfers_source_use", args=[existing.pk]) + self.popup_query
                raise ValidationError(
                    format_html(
                        "This URL is already a source: <a href='{}' target='_blank'>{}</a>. "
                        "<a href='{}' class='use-existing-source'>Use it</a> for this citation.",
                        change,
                        existing.title,
                        use,
                    )
                )
            raise ValidationError(
                format_html(
                    "This URL is already a source: <a href='{}' class='use-existing-source'>{}</a>"
                    " (canonical URL {}). Cite that one instead of adding it again.",
                    change,
                    existing.title,
                    existing.url_canonical,
                )
            )
        return url
