"""Admin for the catalogue: parties and weapon systems with their aliases.

The stock app adds its estimates inline and its refresh action to these pages
(`stock.admin`), so the catalogue does not know about estimates.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR
from django.db import transaction

from core.admin import TrackedAdmin, TrackedInlineMixin
from core.admin_versions import ConcurrentEditForm
from core.services import tracked_save
from inventory.choices import ProposalStatus
from inventory.models import (
    Country,
    CountryAlias,
    SystemAliasProposal,
    WeaponSystem,
    WeaponSystemAlias,
)
from inventory.search import parties_ranked, systems_ranked


class RankedSearchMixin:
    """Search results (the autocomplete's, and the list's unless a column is sorted) ordered
    by how well they match: exact, then prefix, then contains (see inventory.search)."""

    search_ranked = None  # (queryset, term) -> the queryset annotated and ordered

    def get_search_results(self, request, queryset, search_term):
        matched, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if not search_term.strip():
            return matched, may_have_duplicates
        matching = queryset.filter(pk__in=matched.values("pk"))
        if ORDER_VAR in request.GET:  # a list sorted by a column stays so
            return matching, False
        return type(self).search_ranked(matching, search_term), False


class CountryAliasInline(TrackedInlineMixin, admin.TabularInline):
    model = CountryAlias
    fields = ["alias"]


@admin.register(Country)
class CountryAdmin(RankedSearchMixin, TrackedAdmin):
    list_display = ["name", "code", "iso_alpha3", "kind", "existed_until"]
    list_filter = ["kind"]
    search_fields = ["name", "code", "iso_alpha3", "official_name", "aliases__alias"]
    search_ranked = staticmethod(parties_ranked)
    inlines = [CountryAliasInline]
    fields = [
        "code",
        "name",
        "kind",
        "iso_alpha3",
        "official_name",
        ("existed_from", "existed_until"),
        "notes",
    ]


class WeaponSystemAliasInline(TrackedInlineMixin, admin.TabularInline):
    model = WeaponSystemAlias
    fields = ["alias", "kind"]


class VariantInline(admin.TabularInline):
    model = WeaponSystem
    fk_name = "parent"
    fields = ["name", "counting_unit", "range_km"]
    show_change_link = True
    extra = 0
    can_delete = False
    verbose_name = "variant"
    verbose_name_plural = "variants"

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(WeaponSystem)
class WeaponSystemAdmin(RankedSearchMixin, TrackedAdmin):
    list_display = [
        "name",
        "parent",
        "counting_unit",
        "unroca_category",
        "sipri_category",
        "origin",
        "manufacturer",
        "range_km",
    ]
    list_filter = [
        "unroca_category",
        "sipri_category",
        "counting_unit",
        ("parent", admin.EmptyFieldListFilter),
    ]
    list_select_related = ["parent", "origin"]
    search_fields = ["name", "aliases__alias", "manufacturer", "description"]
    search_ranked = staticmethod(systems_ranked)
    autocomplete_fields = ["parent", "origin"]
    inlines = [WeaponSystemAliasInline, VariantInline]

    fieldsets = [
        (None, {"fields": ["name", "parent", "description", "counting_unit"]}),
        ("Classification", {"fields": ["unroca_category", "sipri_category"]}),
        ("Origin and performance", {"fields": ["manufacturer", "origin", "range_km"]}),
        ("Notes", {"fields": ["notes"]}),
    ]


# -- the catalogue across datasets: proposals editors decide ------------------------------


class ProposalDecisionForm(ConcurrentEditForm):
    """A proposal's candidate and relation (editable: that is how an editor corrects it) and
    the decision, applied through the catalogue services."""

    decision = forms.ChoiceField(
        choices=[("", "leave pending"), ("confirm", "confirm"), ("reject", "reject")],
        required=False,
        help_text="Confirm (with the candidate and relation above, corrected if need be) or "
        "reject (never proposed again).",
    )

    class Meta:
        model = SystemAliasProposal
        fields = ["candidate", "relation", "note"]


@admin.action(description="Confirm the selected proposals", permissions=["change"])
def confirm_proposals(modeladmin, request, queryset):
    from inventory.catalogue import alias_proposal_confirm

    done = 0
    with transaction.atomic():
        for proposal in queryset.filter(status=ProposalStatus.PENDING).select_related(
            "candidate", "system"
        ):
            proposal.refresh_from_db()  # an earlier confirmation may have closed it
            if proposal.status == ProposalStatus.PENDING:
                alias_proposal_confirm(proposal=proposal, actor=request.user)
                done += 1
    modeladmin.message_user(request, f"Confirmed {done} proposal(s).", messages.SUCCESS)


@admin.action(description="Reject the selected proposals", permissions=["change"])
def reject_proposals(modeladmin, request, queryset):
    from inventory.catalogue import alias_proposal_reject

    done = 0
    with transaction.atomic():
        for proposal in queryset.filter(status=ProposalStatus.PENDING):
            alias_proposal_reject(proposal=proposal, actor=request.user)
            done += 1
    modeladmin.message_user(request, f"Rejected {done} proposal(s).", messages.SUCCESS)


@admin.register(SystemAliasProposal)
class SystemAliasProposalAdmin(TrackedAdmin):
    """Candidates proposed for the dataset names with no catalogue entry. Editors confirm,
    correct (another candidate or relation, then confirm) or reject them; every decision
    goes through the catalogue services and keeps who and when."""

    form = ProposalDecisionForm
    list_display = [
        "name",
        "dataset",
        "candidate",
        "relation",
        "method",
        "status",
        "decided_by_name",
        "decided_at",
    ]
    list_filter = ["status", "method", "relation", "dataset"]
    list_select_related = ["candidate"]
    search_fields = ["name", "candidate__name"]
    autocomplete_fields = ["candidate"]
    readonly_fields = [
        "name",
        "dataset",
        "system",
        "method",
        "status",
        "created_at",
        "decided_by_name",
        "decided_at",
    ]
    fields = [
        "name",
        "dataset",
        "system",
        "method",
        "candidate",
        "relation",
        "decision",
        "note",
        "status",
        "created_at",
        "decided_by_name",
        "decided_at",
    ]
    actions = [confirm_proposals, reject_proposals]

    def has_add_permission(self, request):
        return False  # proposals are made by imports and `manage.py catalogue propose`

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != ProposalStatus.PENDING:
            return [*self.readonly_fields, "candidate", "relation", "note"]
        return self.readonly_fields

    def get_fields(self, request, obj=None):
        if obj is not None and obj.status != ProposalStatus.PENDING:
            return [f for f in self.fields if f != "decision"]
        return self.fields

    def save_model(self, request, obj, form, change):
        from inventory.catalogue import alias_proposal_confirm, alias_proposal_reject

        decision = form.cleaned_data.get("decision")
        stored = SystemAliasProposal.objects.get(pk=obj.pk)
        if decision == "confirm":
            alias_proposal_confirm(
                proposal=stored,
                actor=request.user,
                candidate=obj.candidate,
                relation=obj.relation,
                note=obj.note,
            )
        elif decision == "reject":
            alias_proposal_reject(proposal=stored, actor=request.user, note=obj.note)
        else:
            tracked_save(obj, actor=request.user)
