"""What people type, ranked: exact matches first, then prefixes, then the rest.

The admin's autocomplete (and its search box) for parties and weapon systems orders its
matches with these expressions, so that Enter picks what the editor meant: "UK" is the
United Kingdom before Ukraine, "US" and "USA" the United States before the United States
Minor Outlying Islands or Mexico (whose official name holds both words), "Korea" South Korea
(an alias) before North Korea, and historic parties (East Germany, the Soviet Union) come
after current ones of the same rank.
"""

from __future__ import annotations

from django.db.models import Case, Exists, IntegerField, OuterRef, Q, QuerySet, Value, When

from inventory.choices import PartyKind
from inventory.models import CountryAlias, WeaponSystemAlias, normalize_alias

EXACT, PREFIX, CONTAINS = 0, 1, 2


def _rank(*, exact: Q, prefix: Q) -> Case:
    return Case(
        When(exact, then=Value(EXACT)),
        When(prefix, then=Value(PREFIX)),
        default=Value(CONTAINS),
        output_field=IntegerField(),
    )


def party_search_rank(term: str) -> Case:
    """0 for an exact code, name or alias, 1 for a prefix of the name or an alias, 2 else."""
    term = term.strip()
    key = normalize_alias(term)
    aliases = CountryAlias.objects.filter(country=OuterRef("pk"))
    exact = (
        Q(code__iexact=term)
        | Q(iso_alpha3__iexact=term)
        | Q(name__iexact=term)
        | Q(Exists(aliases.filter(alias_normalized=key)))
    )
    prefix = Q(name__istartswith=term) | Q(Exists(aliases.filter(alias_normalized__startswith=key)))
    return _rank(exact=exact, prefix=prefix)


def parties_ranked(queryset: QuerySet, term: str) -> QuerySet:
    """`queryset` (parties) ordered by how well they match `term`: rank, then current before
    historic, then name."""
    historic = Case(
        When(kind=PartyKind.HISTORICAL, then=Value(1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    return queryset.annotate(
        search_rank=party_search_rank(term), search_historic=historic
    ).order_by("search_rank", "search_historic", "name", "pk")


def system_search_rank(term: str) -> Case:
    """0 for an exact name or alias (designation), 1 for a prefix of either, 2 else."""
    term = term.strip()
    key = normalize_alias(term)
    aliases = WeaponSystemAlias.objects.filter(system=OuterRef("pk"))
    exact = Q(name__iexact=term) | Q(Exists(aliases.filter(alias_normalized=key)))
    prefix = Q(name__istartswith=term) | Q(Exists(aliases.filter(alias_normalized__startswith=key)))
    return _rank(exact=exact, prefix=prefix)


def systems_ranked(queryset: QuerySet, term: str) -> QuerySet:
    """`queryset` (systems) ordered by how well they match `term`: rank, families before
    their variants, then name."""
    variant = Case(
        When(parent__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return queryset.annotate(search_rank=system_search_rank(term), search_variant=variant).order_by(
        "search_rank", "search_variant", "name", "pk"
    )
