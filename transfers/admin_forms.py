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


# The admin's answers to "this may already be in Stockpile" (the likely matches shown before
# a record is saved): save a new record anyway, or add the citation to an existing record.
SAVE_DESPITE_MATCHES = "_save_despite_matches"
ADD_CITATION_TO = "_add_citation_to"
# The fields that decide which movement a record reports: an edit that changes none of them
# is saved without asking again.
MATCH_FIELDS = {
    "system",
    "kind",
    "donor",
    "recipient",
    "holder",
    "status",
    "quantity_text",
    "quantity_low",
    "quantity_high",
    "date",
    "date_precision",
    "date_end",
}


def posted_citation_sources(data) -> list[int]:
    """The sources of the citation rows the posted form keeps (see posted_citation_count)."""
    try:
        total = int(data.get(f"{CITATIONS_PREFIX}-TOTAL_FORMS", 0))
    except (TypeError, ValueError):
        return []
    found = []
    for index in range(min(total, 1000)):
        value = data.get(f"{CITATIONS_PREFIX}-{index}-source")
        if value and str(value).isdigit() and not data.get(f"{CITATIONS_PREFIX}-{index}-DELETE"):
            found.append(int(value))
    return found


class RecordAdminForm(PartialDateFormMixin, ConcurrentEditForm):
    """A record's admin form. Saving it without any citation needs the box ticked. Saving a
    record that may already be in Stockpile (an existing report of the same movement) shows
    the likely matches first (`likely_matches`); the editor saves anyway or adds the
    citation to the existing record (RecordAdmin)."""

    likely_matches: list[dict] = []

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

    def _post_clean(self):
        super()._post_clean()
        self.likely_matches = []
        adding_citation = self.is_bound and bool(self.data.get(ADD_CITATION_TO))
        if adding_citation and self._errors:
            self.add_error(None, "Nothing was saved: the citation was not added.")
            return
        if not self.is_bound or self._errors:
            return
        if self.data.get(SAVE_DESPITE_MATCHES) and not adding_citation:
            return
        if self.instance.pk and not (set(self.changed_data) & MATCH_FIELDS) and not adding_citation:
            return
        from transfers.selectors import record_likely_matches

        self.likely_matches = record_likely_matches(
            self.instance, posted_citation_sources(self.data)
        )
        if adding_citation:  # the citation could not be added (the message says why)
            self.add_error(None, "Nothing was saved: the citation was not added.")
        elif self.likely_matches:
            self.add_error(
                None,
                ValidationError(
                    "This record may already be in Stockpile: %(count)s existing report(s) "
                    "of the same movement are listed below the citations. Add your citation to one of them, "
                    "or save a new record anyway.",
                    code="likely_matches",
                    params={"count": len(self.likely_matches)},
                ),
            )


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
