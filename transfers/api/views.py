"""Records and their evidence. Each viewset: a queryset from a selector, a serializer, a
filterset, and the service that deletes."""

from __future__ import annotations

from django.db.models import Count

from core.api.known_at import KnownAtList, KnownAtMixin
from core.api.viewsets import HistoryMixin, ServiceViewSet
from core.history import history_as_of
from transfers.api import filters, serializers
from transfers.models import Authorization, Citation, Expenditure, Holding, Pledge, Policy, Transfer
from transfers.selectors import (
    fact_list,
    policies_bearing_on,
    record_list,
    role_list,
    source_list,
)
from transfers.services import (
    citation_delete,
    party_role_delete,
    record_delete,
    source_delete,
    system_fact_delete,
)

RECORD_SEARCH = [
    "system__name",
    "system__aliases__alias",
    "quantity_text",
    "notes",
    "external_id",
    "citations__excerpt",
    "citations__source__title",
]
RECORD_ORDERING = ["date", "quantity_low", "quantity_high", "created_at", "updated_at", "id"]
# ?known_at= (core.api.known_at): the citations as they were then, with their sources as then
CITATIONS_AS_OF = KnownAtList("citations", as_of=("source",))
ROLES_AS_OF = KnownAtList("roles", related=("party",))


class CitedAsOf(KnownAtMixin):
    """`?known_at=`: the record and its citations (with their sources) as they were then."""

    known_at_lists = (CITATIONS_AS_OF,)

    def known_at_annotate(self, instances, moment):
        for instance in instances:
            instance.is_sourced = bool(instance._prefetched_objects_cache["citations"])


class RecordViewSet(CitedAsOf, HistoryMixin, ServiceViewSet):
    ordering_fields = RECORD_ORDERING

    def delete_service(self, instance, *, actor):
        record_delete(record=instance, actor=actor)

    def create(self, request, *args, **kwargs):
        return self._with_candidates(super().create(request, *args, **kwargs))

    def update(self, request, *args, **kwargs):
        return self._with_candidates(super().update(request, *args, **kwargs))

    def _with_candidates(self, response):
        """A write is accepted, and answered with the record's likely matches: reports of
        the same movement in other datasets (counted once with it), or to review. The ETag
        stays the record's own (as a GET returns it)."""
        from stock.selectors import report_candidates

        label = self.get_queryset().model._meta.label_lower
        response.data["candidate_matches"] = report_candidates(label, response.data["id"])
        return response


class HoldingViewSet(RecordViewSet):
    queryset = record_list(Holding)
    serializer_class = serializers.HoldingSerializer
    filterset_class = filters.HoldingFilterSet
    search_fields = [*RECORD_SEARCH, "holder__name", "supplier__name"]


class PledgeViewSet(RecordViewSet):
    queryset = record_list(Pledge)
    serializer_class = serializers.PledgeSerializer
    filterset_class = filters.PledgeFilterSet
    search_fields = [*RECORD_SEARCH, "donor__name", "recipient__name"]
    known_at_lists = (CITATIONS_AS_OF, ROLES_AS_OF)

    def list(self, request, *args, **kwargs):
        """The page, then the policies bearing on its pledges, in a fixed number of queries
        (with `known_at`: the pledges and the policies as they were then)."""
        response = super().list(request, *args, **kwargs)
        rows = response.data.get("results", response.data) if response.data else []
        moment = self.known_at()
        if moment is not None:
            pledges = self.known_at_page
        else:
            pledges = Pledge.objects.filter(pk__in=[row["id"] for row in rows]).only(
                "pk", "system_id", "recipient_id"
            )
        found = policies_bearing_on(pledges, known_at=moment)
        for row in rows:
            row["policies"] = serializers.PolicyBriefSerializer(
                found.get(row["id"], []), many=True
            ).data
        return response


class TransferViewSet(RecordViewSet):
    queryset = record_list(Transfer)
    serializer_class = serializers.TransferSerializer
    filterset_class = filters.TransferFilterSet
    search_fields = [*RECORD_SEARCH, "donor__name", "recipient__name"]
    known_at_lists = (CITATIONS_AS_OF, ROLES_AS_OF)


class ExpenditureViewSet(RecordViewSet):
    queryset = record_list(Expenditure)
    serializer_class = serializers.ExpenditureSerializer
    filterset_class = filters.ExpenditureFilterSet
    search_fields = [*RECORD_SEARCH, "holder__name", "location"]


class AuthorizationViewSet(RecordViewSet):
    queryset = record_list(Authorization)
    serializer_class = serializers.AuthorizationSerializer
    filterset_class = filters.AuthorizationFilterSet
    search_fields = [
        *RECORD_SEARCH[:2],
        "scope",
        "notes",
        "external_id",
        "grantor__name",
        "holder__name",
    ]


class PolicyViewSet(RecordViewSet):
    queryset = record_list(Policy)
    serializer_class = serializers.PolicySerializer
    filterset_class = filters.PolicyFilterSet
    search_fields = [*RECORD_SEARCH[:2], "statement", "notes", "party__name", "recipient__name"]

    def _with_candidates(self, response):
        return response  # a policy moves no stock: it has no reports to match


class PartyRoleViewSet(CitedAsOf, HistoryMixin, ServiceViewSet):
    queryset = role_list()
    serializer_class = serializers.PartyRoleSerializer
    filterset_class = filters.PartyRoleFilterSet
    search_fields = ["party__name", "notes", "citations__excerpt"]
    ordering_fields = ["created_at", "id"]

    def delete_service(self, instance, *, actor):
        party_role_delete(role=instance, actor=actor)


class SystemFactViewSet(CitedAsOf, HistoryMixin, ServiceViewSet):
    queryset = fact_list()
    serializer_class = serializers.SystemFactSerializer
    filterset_class = filters.SystemFactFilterSet
    search_fields = ["system__name", "manufacturer", "wording", "citations__excerpt"]
    ordering_fields = ["created_at", "id"]

    def delete_service(self, instance, *, actor):
        system_fact_delete(fact=instance, actor=actor)


class SourceViewSet(KnownAtMixin, HistoryMixin, ServiceViewSet):
    queryset = source_list().order_by("-published_on", "-published_at", "title", "id")
    serializer_class = serializers.SourceSerializer
    filterset_class = filters.SourceFilterSet
    search_fields = ["title", "publisher", "author", "url"]
    ordering_fields = [
        "published_on",
        "published_at",
        "retrieved_at",
        "title",
        "reliability",
        "created_at",
        "id",
    ]

    def delete_service(self, instance, *, actor):
        source_delete(source=instance, actor=actor)

    def known_at_annotate(self, instances, moment):
        """`citation_count`: the citations that cited the source then."""
        counts = dict(
            history_as_of(Citation, moment)
            .filter(source_id__in=[s.pk for s in instances])
            .order_by()
            .values_list("source_id")
            .annotate(n=Count("id"))
        )
        for source in instances:
            source.citation_count = counts.get(source.pk, 0)


class CitationViewSet(KnownAtMixin, HistoryMixin, ServiceViewSet):
    queryset = Citation.objects.select_related("source")
    known_at_as_of = ("source",)
    serializer_class = serializers.CitationDetailSerializer
    filterset_class = filters.CitationFilterSet
    search_fields = ["excerpt", "locator", "source__title"]
    ordering_fields = ["created_at", "credibility", "id"]

    def delete_service(self, instance, *, actor):
        citation_delete(citation=instance, actor=actor)
