"""Admin for the sourced records and their evidence: built for a day of data entry.

Countries and systems are picked by autocomplete; citations sit inline on every record,
with the source picked by autocomplete or created in place (the "+" next to it); records
without a citation are marked "unsourced" and can be filtered. All writes go through
`transfers.services`.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR, TO_FIELD_VAR, csrf_protect_m
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from core.admin import TrackedAdmin
from core.admin_access import model_admin_requires
from core.admin_paging import LargeListMixin
from core.forms import format_partial_date
from core.weblinks import web_link
from transfers.admin_filters import (
    DateRangeFilter,
    GradeFilter,
    PartiesNamedFilter,
    SystemFamilyFilter,
)
from transfers.admin_forms import (
    ADD_CITATION_TO,
    CitationInlineForm,
    RecordAdminForm,
    SourceAdminForm,
)
from transfers.ledger import ledger_posted_once
from transfers.models import (
    CITED_FIELDS,
    Authorization,
    Citation,
    Expenditure,
    Holding,
    PartyRole,
    Pledge,
    Policy,
    Source,
    SystemFact,
    Transfer,
)
from transfers.records import RECORD_MODELS, record_type
from transfers.selectors import (
    RECORD_PARTIES,
    cited_records_prefetch,
    has_citation,
    policies_bearing_on,
    record_warnings,
)
from transfers.services import (
    citation_delete,
    citation_save,
    party_role_delete,
    party_role_save,
    record_delete,
    record_save,
    source_delete,
    system_fact_delete,
    system_fact_save,
)


class OneLedgerPostMixin:
    """A form, with its inline citations, or a bulk delete posts the stock ledger once, at
    the end of the request's transaction (`transfers.ledger.ledger_posted_once`): not once
    for the record and again for each citation."""

    def _changeform_view(self, request, object_id, form_url, extra_context):
        if request.method != "POST":
            return super()._changeform_view(request, object_id, form_url, extra_context)
        # inside the admin's own transaction: no savepoint of its own
        with ledger_posted_once(savepoint=False):
            return super()._changeform_view(request, object_id, form_url, extra_context)

    def delete_queryset(self, request, queryset):
        with ledger_posted_once():
            super().delete_queryset(request, queryset)


class CitationInline(admin.StackedInline):
    model = Citation
    form = CitationInlineForm
    extra = 1
    autocomplete_fields = ["source"]
    fields = [
        ("source", "locator"),
        "excerpt",
        ("stance", "attribution", "reliability", "credibility"),
    ]
    verbose_name = "citation"
    verbose_name_plural = "citations (the evidence for this record)"


class PartyRoleInline(admin.TabularInline):
    """The other parties of a pledge or transfer. A role's citations are on its own page
    (the "change" link), as Django does not nest inlines."""

    model = PartyRole
    extra = 0
    autocomplete_fields = ["party"]
    fields = ["party", "role", "notes", "evidence"]
    readonly_fields = ["evidence"]
    show_change_link = True
    verbose_name = (
        "other party (arranges, finances, consents to re-export, passes on, first supplied)"
    )
    verbose_name_plural = "other parties: who arranges, finances, consents, or first supplied"

    @admin.display(description="evidence")
    def evidence(self, obj) -> str:
        if obj is None or obj.pk is None:
            return "cite it on its page once saved"
        grades = ", ".join(c.grade for c in obj.citations.all())
        if grades:
            return grades
        return format_html('<strong style="color:#ba2121">{}</strong>', "UNSOURCED")


RECORD_FK = {"system", "supplier", "donor", "grantor", "holder", "recipient", "pledge", "party"}


class SourcedFilter(admin.SimpleListFilter):
    title = "evidence"
    parameter_name = "sourced"

    def lookups(self, request, model_admin):
        return [("yes", "Sourced"), ("no", "Unsourced (no citation)")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(is_sourced=True)
        if self.value() == "no":
            return queryset.filter(is_sourced=False)
        return queryset


# What "Save and add another" keeps for the next record (what a story repeats: five buyers
# of one system from one supplier), and of its first citation.
KEPT_FIELDS = ("system", "kind", "supplier", "donor", "grantor", "status", "basis", "condition")
KEPT_CITATION_FIELDS = ("source", "stance", "attribution", "reliability", "credibility")


class RecordAdmin(OneLedgerPostMixin, TrackedAdmin):
    """Common admin of the five record types."""

    form = RecordAdminForm
    change_form_template = "admin/transfers/record_change_form.html"
    inlines = [CitationInline]
    save_as = True  # "Save as new": a copy of the record, with its changes, as a new one
    save_on_top = True
    # No date hierarchy: its years (a DISTINCT over every record's date) read the whole
    # table on every page view; the date range filter picks a year, a month or a day.
    search_fields = [
        "system__name",
        "system__aliases__alias",
        "notes",
        "external_id",
        "citations__excerpt",
        "citations__source__title",
    ]
    readonly_fields = ["external_id", "created_at", "updated_at", "likely_matches"]
    quantity_fieldset = (
        "Quantity",
        {
            "fields": [("quantity_text", "quantity_low", "quantity_high")],
            "description": (
                'Type the wording as reported ("dozens", "at least 20", "about 100", '
                '"unknown") and leave the bounds empty: they are filled in from the wording. '
                "Fill in the bounds yourself to override. Empty bounds mean unknown, "
                "an empty high bound means no upper bound."
            ),
        },
    )
    date_fieldset = (
        "Date",
        {
            "fields": [("date", "date_precision", "date_end")],
            "description": "Month and year dates are stored as the first day of their period. "
            "'On or before': the date is the last possible day (Oryx's recorded date, "
            "'in recent weeks' before a report). 'Between': the date is the first possible "
            "day, the end date the last. Leave the date empty if it is not known.",
        },
    )

    def get_fieldsets(self, request, obj=None):
        fieldsets = list(super().get_fieldsets(request, obj))
        fieldsets.append(
            (
                "Evidence",
                {"fields": ["save_without_source"], "classes": ["unsourced-confirmation"]},
            )
        )
        if obj is not None and record_type(self.model).moves_stock:
            fieldsets.append(
                (
                    "Likely matches: other datasets' reports of the same movement",
                    {
                        "fields": ["likely_matches"],
                        "description": "Reports of one movement from different datasets "
                        "are counted once (docs/reconciliation.md). Decide about uncertain "
                        "ones in Stock ledger and estimates › Matches to review.",
                    },
                )
            )
        return fieldsets

    @admin.display(description="likely matches")
    def likely_matches(self, obj):
        from django.urls import reverse
        from django.utils.html import format_html_join

        from stock.selectors import report_candidates

        candidates = report_candidates(obj._meta.label_lower, obj.pk) if obj.pk else []
        if not candidates:
            return "None: no other dataset reports this movement."

        def reports(candidate):
            return format_html_join(
                "<br>",
                '<a href="{}">{}</a>',
                (
                    (
                        reverse(
                            f"admin:transfers_{r['model'].split('.')[-1]}_change", args=[r["id"]]
                        ),
                        r["label"],
                    )
                    for r in candidate["reports"]
                ),
            )

        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{:.2f}</td><td>{}</td><td>{}</td></tr>",
            (
                (c["dataset"], c["quantity"], c["score"], c["status"], reports(c))
                for c in candidates
            ),
        )
        return format_html(
            "<table><thead><tr><th>dataset</th><th>its total</th><th>score</th><th>status</th>"
            "<th>reports</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        """The likely matches of a record about to be saved, with links to their reports."""
        form = context["adminform"].form
        for candidate in getattr(form, "likely_matches", []):
            for report in candidate["reports"]:
                report["url"] = reverse(
                    f"admin:transfers_{report['model'].split('.')[-1]}_change", args=[report["id"]]
                )
        return super().render_change_form(request, context, add, change, form_url, obj)

    @csrf_protect_m
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if request.method == "POST" and request.POST.get(ADD_CITATION_TO):
            response = self._add_citation_instead(request)
            if response is not None:
                return response
            # refused: the form is shown again with its data, nothing saved (the form
            # refuses to save while ADD_CITATION_TO is posted)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def _add_citation_instead(self, request):
        """ "Add my citation to this record instead": the citation rows of the posted form
        are added to an existing record (a likely match) and no new record is saved. None
        when refused (the message names the value)."""
        from django.forms import modelform_factory

        value = request.POST[ADD_CITATION_TO]
        label, _, pk = value.partition(":")
        model = next((m for m in RECORD_MODELS if m._meta.label_lower == label), None)
        target_admin = self.admin_site._registry.get(model) if model else None
        target = target_admin.get_object(request, pk) if target_admin and pk.isdigit() else None
        if target is None:
            self.message_user(
                request, f"{ADD_CITATION_TO}: no record {value!r} to add the citation to.",
                messages.ERROR,
            )  # fmt: skip
            return None
        if not target_admin.has_change_permission(request, target):
            raise PermissionDenied
        form_class = modelform_factory(
            Citation,
            form=CitationInlineForm,
            fields=[
                f
                for row in CitationInline.fields
                for f in (row if isinstance(row, tuple) else [row])
            ],
        )
        forms, problems = [], []
        try:
            total = min(int(request.POST.get("citations-TOTAL_FORMS", 0)), 1000)
        except ValueError:
            total = 0
        for index in range(total):
            prefix = f"citations-{index}"
            if not request.POST.get(f"{prefix}-source") or request.POST.get(f"{prefix}-DELETE"):
                continue
            form = form_class(
                data=request.POST,
                prefix=prefix,
                instance=Citation(**{model._meta.model_name: target}),
            )
            if form.is_valid():
                forms.append(form)
            else:
                for field, errors in form.errors.items():
                    shown = request.POST.get(f"{prefix}-{field}", "")
                    problems.append(f"citation {index + 1}, {field} {shown!r}: {' '.join(errors)}")
        if not forms and not problems:
            problems.append("citations: no citation with a source to add.")
        if problems:
            self.message_user(
                request, "The citation was not added. " + "; ".join(problems), messages.ERROR
            )
            return None
        with transaction.atomic():
            for form in forms:
                citation_save(citation=form.save(commit=False), actor=request.user)
        self.message_user(
            request,
            f"{len(forms)} citation(s) added to {target}; no new record was saved.",
            messages.SUCCESS,
        )
        return HttpResponseRedirect(
            reverse(f"admin:transfers_{model._meta.model_name}_change", args=[target.pk])
        )

    def get_queryset(self, request):
        model = self.model
        return (
            super()
            .get_queryset(request)
            .select_related(*RECORD_PARTIES[model], "system")
            .annotate(is_sourced=has_citation(model))
        )

    @admin.display(boolean=True, description="sourced", ordering="is_sourced")
    def sourced(self, obj) -> bool:
        return obj.is_sourced

    @admin.display(description="quantity", ordering="quantity_low")
    def quantity(self, obj) -> str:
        return obj.quantity_display

    @admin.display(description="date", ordering="date")
    def when(self, obj) -> str:
        return obj.date_display

    def get_list_display(self, request):
        return [*super().get_list_display(request), "sourced_marker"]

    @admin.display(description="evidence", ordering="is_sourced")
    def sourced_marker(self, obj) -> str:
        if obj.is_sourced:
            return format_html('<span title="{}">✔ sourced</span>', "has at least one citation")
        return format_html('<strong style="color:#ba2121">{}</strong>', "UNSOURCED")

    def save_model(self, request, obj, form, change):
        record_save(record=obj, actor=request.user)
        for warning in record_warnings(obj):
            self.message_user(request, warning, messages.WARNING)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not form.instance.citations.exists():
            self.message_user(
                request,
                f"{form.instance} was saved without a source: it is listed as UNSOURCED.",
                messages.WARNING,
            )

    def response_add(self, request, obj, post_url_continue=None):
        response = super().response_add(request, obj, post_url_continue)
        if "_addanother" in request.POST and IS_POPUP_VAR not in request.POST:
            kept = self.kept_for_next(obj)
            joiner = "&" if "?" in response["Location"] else "?"
            response = HttpResponseRedirect(f"{response['Location']}{joiner}{urlencode(kept)}")
        return response

    def kept_for_next(self, obj) -> dict[str, str]:
        """The GET parameters of the next add form: what the saved record shares with the
        next one of the same story (see KEPT_FIELDS), its date and its first citation."""
        kept: dict[str, str] = {}
        names = {field.name for field in obj._meta.get_fields()}
        for name in KEPT_FIELDS:
            if name in names:
                value = (
                    getattr(obj, f"{name}_id", None) if name in RECORD_FK else getattr(obj, name)
                )
                if value not in (None, ""):
                    kept[name] = str(value)
        if obj.date is not None:
            kept["date"] = format_partial_date(obj.date, obj.date_precision)
            kept["date_precision"] = obj.date_precision
        citation = obj.citations.order_by("pk").first()
        if citation is not None:
            for name in KEPT_CITATION_FIELDS:
                value = citation.source_id if name == "source" else getattr(citation, name)
                kept[f"citation_{name}"] = str(value)
        return kept

    def get_formset_kwargs(self, request, obj, inline, prefix):
        kwargs = super().get_formset_kwargs(request, obj, inline, prefix)
        if (
            isinstance(inline, CitationInline)
            and request.method == "GET"
            and "citation_source" in request.GET
        ):
            kwargs["initial"] = [
                {
                    name: request.GET[f"citation_{name}"]
                    for name in KEPT_CITATION_FIELDS
                    if f"citation_{name}" in request.GET
                }
            ]
        return kwargs

    def delete_model(self, request, obj):
        record_delete(record=obj, actor=request.user)

    def save_inline(self, request, parent, obj):
        if isinstance(obj, Citation):
            citation_save(citation=obj, actor=request.user)
        elif isinstance(obj, PartyRole):
            party_role_save(role=obj, actor=request.user)
        else:
            super().save_inline(request, parent, obj)

    def delete_inline(self, request, obj):
        if isinstance(obj, Citation):
            citation_delete(citation=obj, actor=request.user)
        elif isinstance(obj, PartyRole):
            party_role_delete(role=obj, actor=request.user)
        else:
            super().delete_inline(request, obj)


@admin.register(Holding)
class HoldingAdmin(RecordAdmin):
    list_display = ["__str__", "holder", "kind", "system", "quantity", "when"]
    list_filter = [
        SourcedFilter,
        ("holder", PartiesNamedFilter),
        ("supplier", PartiesNamedFilter),
        SystemFamilyFilter,
        "kind",
        GradeFilter,
        ("date", DateRangeFilter),
        "date_precision",
    ]
    autocomplete_fields = ["holder", "supplier", "system"]
    fieldsets = [
        (None, {"fields": ["holder", "kind", "system", "supplier"]}),
        RecordAdmin.quantity_fieldset,
        RecordAdmin.date_fieldset,
        ("Notes", {"fields": ["notes", "external_id", "created_at", "updated_at"]}),
    ]
    search_fields = [*RecordAdmin.search_fields, "holder__name", "holder__code"]


class ChainColumnMixin:
    """Pledge and transfer lists: a "via" column with the movement's other parties (issue
    17), before the column named by `chain_before`, their roles read in one query."""

    chain_before: str

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("roles__party")

    def get_list_display(self, request):
        display = list(super().get_list_display(request))
        display.insert(display.index(self.chain_before), "chain")
        return display

    @admin.display(description="via")
    def chain(self, obj) -> str:
        return chain_display(obj)


@admin.register(Pledge)
class PledgeAdmin(ChainColumnMixin, RecordAdmin):
    list_display = [
        "id",
        "donor_or_undisclosed",
        "recipient",
        "system",
        "quantity",
        "when",
        "status",
    ]
    list_filter = [
        SourcedFilter,
        ("recipient", PartiesNamedFilter),
        ("donor", PartiesNamedFilter),
        SystemFamilyFilter,
        "status",
        GradeFilter,
        ("date", DateRangeFilter),
        "date_precision",
    ]
    autocomplete_fields = ["donor", "recipient", "system"]
    fieldsets = [
        (
            None,
            {
                "fields": ["donor", "recipient", "system", "status"],
                "description": "Leave the donor empty when it is undisclosed "
                '("talks with third countries").',
            },
        ),
        RecordAdmin.quantity_fieldset,
        ("Announced", RecordAdmin.date_fieldset[1]),
        ("Notes", {"fields": ["notes", "external_id", "created_at", "updated_at"]}),
    ]
    search_fields = [*RecordAdmin.search_fields, "donor__name", "recipient__name"]
    inlines = [PartyRoleInline, CitationInline]
    readonly_fields = [*RecordAdmin.readonly_fields, "policies"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None:
            fieldsets.insert(
                1,
                (
                    "Policies that bear on this pledge",
                    {
                        "fields": ["policies"],
                        "description": "What parties stated they will or will not transfer "
                        "(or allow) of this system, or its family, to this recipient or any.",
                    },
                ),
            )
        return fieldsets

    @admin.display(description="policies")
    def policies(self, obj) -> str:
        found = policies_bearing_on([obj]).get(obj.pk, []) if obj and obj.pk else []
        if not found:
            return "None recorded."
        return format_html_join(
            "",
            '<p><a href="{}">{}</a> ({}): “{}” {}</p>',
            (
                (
                    reverse("admin:transfers_policy_change", args=[p.pk]),
                    str(p),
                    p.date_display,
                    p.statement,
                    ", ".join(c.grade for c in p.citations.all()) or "UNSOURCED",
                )
                for p in found
            ),
        )

    @admin.display(description="donor", ordering="donor__name")
    def donor_or_undisclosed(self, obj) -> str:
        return obj.donor_display

    chain_before = "status"


@admin.register(Transfer)
class TransferAdmin(ChainColumnMixin, RecordAdmin):
    list_display = ["id", "donor", "recipient", "system", "quantity", "when", "basis", "condition"]
    list_filter = [
        SourcedFilter,
        ("recipient", PartiesNamedFilter),
        ("donor", PartiesNamedFilter),
        SystemFamilyFilter,
        GradeFilter,
        ("date", DateRangeFilter),
        "basis",
        "condition",
        "date_precision",
    ]
    autocomplete_fields = ["donor", "recipient", "system", "pledge"]
    fieldsets = [
        (None, {"fields": ["donor", "recipient", "system", "basis", "pledge", "condition"]}),
        RecordAdmin.quantity_fieldset,
        ("Delivered", RecordAdmin.date_fieldset[1]),
        ("Notes", {"fields": ["notes", "external_id", "created_at", "updated_at"]}),
    ]
    search_fields = [*RecordAdmin.search_fields, "donor__name", "recipient__name"]
    inlines = [PartyRoleInline, CitationInline]

    chain_before = "basis"


@admin.register(Expenditure)
class ExpenditureAdmin(RecordAdmin):
    list_display = ["id", "holder", "kind", "system", "quantity", "when", "location"]
    list_filter = [
        SourcedFilter,
        ("holder", PartiesNamedFilter),
        SystemFamilyFilter,
        "kind",
        GradeFilter,
        ("date", DateRangeFilter),
        "date_precision",
    ]
    autocomplete_fields = ["holder", "system"]
    fieldsets = [
        (None, {"fields": ["holder", "kind", "system", "location"]}),
        RecordAdmin.quantity_fieldset,
        RecordAdmin.date_fieldset,
        ("Notes", {"fields": ["notes", "external_id", "created_at", "updated_at"]}),
    ]
    search_fields = [*RecordAdmin.search_fields, "holder__name", "location"]


@admin.register(Authorization)
class AuthorizationAdmin(RecordAdmin):
    list_display = ["id", "grantor", "holder", "kind", "system", "scope", "when", "valid_until"]
    list_filter = [
        SourcedFilter,
        ("holder", PartiesNamedFilter),
        ("grantor", PartiesNamedFilter),
        SystemFamilyFilter,
        "kind",
        GradeFilter,
        ("date", DateRangeFilter),
    ]
    autocomplete_fields = ["grantor", "holder", "system"]
    fieldsets = [
        (None, {"fields": ["grantor", "holder", "system", "kind", "scope"]}),
        ("Granted", {"fields": [("date", "date_precision"), "valid_until"]}),
        ("Notes", {"fields": ["notes", "external_id", "created_at", "updated_at"]}),
    ]
    search_fields = [
        "system__name",
        "system__aliases__alias",
        "scope",
        "notes",
        "grantor__name",
        "holder__name",
        "citations__excerpt",
    ]


def chain_display(movement) -> str:
    """The other parties of a pledge or transfer in a few words: "via US; financed by DE"."""
    from transfers.chains import roles_phrase

    return roles_phrase(movement.roles.all()) or "–"


@admin.register(Policy)
class PolicyAdmin(RecordAdmin):
    list_display = ["id", "party", "kind", "system", "recipient_or_any", "statement", "when"]
    list_filter = [
        SourcedFilter,
        ("party", PartiesNamedFilter),
        ("recipient", PartiesNamedFilter),
        SystemFamilyFilter,
        "kind",
        GradeFilter,
        ("date", DateRangeFilter),
    ]
    autocomplete_fields = ["party", "recipient", "system"]
    fieldsets = [
        (
            None,
            {
                "fields": ["party", "kind", "system", "include_variants", "recipient", "statement"],
                "description": "What a party states it will or will not transfer (or allow "
                "others to transfer). Leave the recipient empty for any recipient.",
            },
        ),
        ("Stated", {"fields": [("date", "date_precision"), "valid_until"]}),
        ("Notes", {"fields": ["notes", "external_id", "created_at", "updated_at"]}),
    ]
    search_fields = [
        "system__name",
        "system__aliases__alias",
        "statement",
        "notes",
        "party__name",
        "recipient__name",
        "citations__excerpt",
    ]

    @admin.display(description="recipient", ordering="recipient__name")
    def recipient_or_any(self, obj) -> str:
        return str(obj.recipient) if obj.recipient_id else "any"


class CitedClaimAdmin(TrackedAdmin):
    """A party role or a system fact: cited inline like a record."""

    inlines = [CitationInline]
    readonly_fields = ["created_at", "updated_at"]

    def save_inline(self, request, parent, obj):
        citation_save(citation=obj, actor=request.user)

    def delete_inline(self, request, obj):
        citation_delete(citation=obj, actor=request.user)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("citations__source")

    @admin.display(description="evidence")
    def evidence(self, obj) -> str:
        grades = ", ".join(c.grade for c in obj.citations.all())
        return grades or format_html('<strong style="color:#ba2121">{}</strong>', "UNSOURCED")


@admin.register(PartyRole)
class PartyRoleAdmin(CitedClaimAdmin):
    list_display = ["id", "party", "role", "pledge", "transfer", "evidence"]
    list_filter = ["role", ("party", PartiesNamedFilter)]
    list_select_related = [
        "party",
        "pledge__system",
        "pledge__recipient",
        "pledge__donor",
        "transfer__system",
        "transfer__recipient",
        "transfer__donor",
    ]
    autocomplete_fields = ["party", "pledge", "transfer"]
    search_fields = ["party__name", "party__code", "notes", "citations__excerpt"]
    fieldsets = [
        (
            None,
            {
                "fields": ["party", "role", "pledge", "transfer", "notes"],
                "description": "A party's part in exactly one pledge or transfer, besides "
                "donor and recipient.",
            },
        ),
        ("Saved", {"fields": ["created_at", "updated_at"]}),
    ]

    def save_model(self, request, obj, form, change):
        party_role_save(role=obj, actor=request.user)

    def delete_model(self, request, obj):
        party_role_delete(role=obj, actor=request.user)


@admin.register(SystemFact)
class SystemFactAdmin(CitedClaimAdmin):
    list_display = ["id", "system", "kind", "value_display", "wording", "evidence"]
    list_filter = ["kind"]
    list_select_related = ["system", "origin"]
    autocomplete_fields = ["system", "origin"]
    search_fields = ["system__name", "manufacturer", "wording", "citations__excerpt"]
    readonly_fields = ["range_km", "created_at", "updated_at"]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("system", "kind"),
                    "manufacturer",
                    "origin",
                    ("range_value", "range_unit", "range_km"),
                    "counting_unit",
                    "wording",
                    "notes",
                ],
                "description": "Fill in the field of the fact's kind. A range is typed in "
                'km, miles or nautical miles, or only as worded ("up to 190 miles"): its '
                "number and unit are read from the words, which are kept. Saving sets the "
                "catalogue entry's value.",
            },
        ),
        ("Saved", {"fields": ["created_at", "updated_at"]}),
    ]

    @admin.display(description="value")
    def value_display(self, obj) -> str:
        return obj.value_display

    def save_model(self, request, obj, form, change):
        system_fact_save(fact=obj, actor=request.user)

    def delete_model(self, request, obj):
        system_fact_delete(fact=obj, actor=request.user)


class SystemFactInline(admin.TabularInline):
    """The cited facts of a catalogue entry, on its page (edited on their own pages)."""

    model = SystemFact
    extra = 0
    fields = ["kind", "value_display", "wording", "evidence"]
    readonly_fields = fields
    show_change_link = True
    verbose_name_plural = "cited facts (manufacturer, origin, range, counting unit)"

    def has_view_permission(self, request, obj=None):
        # Not on the add page: a system not yet saved has no facts (and the form then
        # carries no formset for them).
        return obj is not None and super().has_view_permission(request, obj)

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="value")
    def value_display(self, obj) -> str:
        return obj.value_display

    @admin.display(description="evidence")
    def evidence(self, obj) -> str:
        return ", ".join(c.grade for c in obj.citations.all()) or "UNSOURCED"


@admin.register(Source)
class SourceAdmin(TrackedAdmin):
    form = SourceAdminForm
    list_display = ["title", "publisher", "published", "source_type", "reliability", "link"]
    list_filter = ["source_type", "reliability", "publisher"]
    search_fields = ["title", "url", "url_canonical", "publisher", "author"]
    readonly_fields = ["url_canonical", "created_at", "updated_at"]
    date_hierarchy = "published_on"
    fieldsets = [
        (None, {"fields": ["url", "url_canonical", "title", "publisher", "author", "source_type"]}),
        ("Grading", {"fields": ["reliability"]}),
        (
            "Publication and capture",
            {
                "fields": [
                    ("published_on", "published_precision"),
                    "published_at",
                    "retrieved_at",
                    "archive_url",
                    "content_sha256",
                ]
            },
        ),
        ("Notes", {"fields": ["notes", "created_at", "updated_at"]}),
    ]

    @admin.display(description="published", ordering="published_on")
    def published(self, obj) -> str:
        return obj.published_display

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if IS_POPUP_VAR in request.GET or IS_POPUP_VAR in request.POST:
            to_field = request.GET.get(TO_FIELD_VAR) or request.POST.get(TO_FIELD_VAR) or "id"
            form.popup_query = "?" + urlencode({TO_FIELD_VAR: to_field, IS_POPUP_VAR: 1})
        return form

    def get_urls(self):
        use = self.admin_site.admin_view(self.use_view)
        return [
            path("<path:object_id>/use/", use, name="transfers_source_use"),
            *super().get_urls(),
        ]

    @model_admin_requires("view")
    def use_view(self, request, object_id):
        """Pick an existing source in the "+" popup a citation opened (the duplicate-URL
        message links here), as if it had just been added."""
        source = self.get_object(request, object_id)
        if source is None:
            raise Http404(f"No source with id {object_id!r}.")
        if not self.has_view_permission(request, source):
            raise PermissionDenied
        if IS_POPUP_VAR not in request.GET:
            return HttpResponseRedirect(reverse("admin:transfers_source_change", args=[source.pk]))
        attr = request.GET.get(TO_FIELD_VAR) or "id"
        if attr != "id":
            raise PermissionDenied
        data = json.dumps({"value": str(source.pk), "obj": str(source)})
        return TemplateResponse(
            request,
            self.popup_response_template or "admin/popup_response.html",
            {"popup_response_data": data},
        )

    @admin.display(description="URL")
    def link(self, obj) -> str:
        if not obj.url:
            return "–"
        return web_link(obj.url, "open", rel="noreferrer noopener", target="_blank")

    def delete_model(self, request, obj):
        source_delete(source=obj, actor=request.user)


@admin.register(Citation)
class CitationAdmin(OneLedgerPostMixin, TrackedAdmin):
    list_display = ["id", "source", "record_label", "grade", "stance", "attribution"]
    list_filter = ["stance", "attribution", "reliability", "credibility"]
    list_select_related = ["source"]
    search_fields = ["excerpt", "source__title", "source__url"]
    autocomplete_fields = ["source", *CITED_FIELDS]
    fieldsets = [
        (None, {"fields": ["source", "locator", "excerpt"]}),
        ("The record it supports (exactly one)", {"fields": list(CITED_FIELDS)}),
        ("Grade", {"fields": [("stance", "attribution", "reliability", "credibility")]}),
    ]

    def get_queryset(self, request):
        # The record each citation supports, with what its label names (parties, system): one
        # query per kind of record on the page, not one per row.
        return super().get_queryset(request).prefetch_related(*cited_records_prefetch())

    @admin.display(description="record")
    def record_label(self, obj) -> str:
        return str(obj.record)

    def save_model(self, request, obj, form, change):
        citation_save(citation=obj, actor=request.user)

    def delete_model(self, request, obj):
        citation_delete(citation=obj, actor=request.user)


class HistoryEntryAdmin(LargeListMixin, admin.ModelAdmin):
    """Read-only list of a model's history rows: what survives a deletion is found here."""

    list_display = ["history_date", "history_type", "id", "__str__", "door", "actor_name"]
    formfield_overrides = TrackedAdmin.formfield_overrides
    list_filter = ["history_type", "door"]
    search_fields = ["actor_name", "history_change_reason"]
    date_hierarchy = "history_date"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        subject = self.model.instance_type._meta
        return request.user.has_perm(f"{subject.app_label}.view_{subject.model_name}")

    def has_module_permission(self, request):
        return self.has_view_permission(request)


for _model in (*RECORD_MODELS, PartyRole, SystemFact, Source, Citation):
    admin.site.register(_model.history.model, HistoryEntryAdmin)

# django-celery-beat's own actions declare no permission (Django would run them for anyone
# who can see the list): they change the schedule or run a task, so they need `change`.
from django_celery_beat.admin import PeriodicTaskAdmin as _PeriodicTaskAdmin  # noqa: E402

# The unresolved dataset names, by record count (issue 10).
from transfers import admin_catalogue as _admin_catalogue  # noqa: E402, F401

# Import and export in the admin (issue 6).
from transfers import admin_io as _admin_io  # noqa: E402, F401

for _action in ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks"):
    getattr(_PeriodicTaskAdmin, _action).allowed_permissions = ("change",)

# django-axes' cleanup of login attempts deletes rows: it needs `delete`.
from axes.admin import AccessAttemptAdmin as _AccessAttemptAdmin  # noqa: E402

_AccessAttemptAdmin.cleanup_expired_attempts.allowed_permissions = ("delete",)

# Users and groups without privilege escalation (issue 14).
# A story entered at once: the source named once, several claims (issue 12).
# The catalogue's system pages list their cited facts (the higher layer extends the lower).
from inventory.admin import WeaponSystemAdmin as _WeaponSystemAdmin  # noqa: E402
from transfers import admin_story as _admin_story  # noqa: E402, F401
from transfers import admin_users as _admin_users  # noqa: E402, F401

_WeaponSystemAdmin.inlines = [*_WeaponSystemAdmin.inlines, SystemFactInline]
