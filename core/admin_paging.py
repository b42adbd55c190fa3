"""Admin lists of a million rows without counting a million rows.

Django's changelist counts its rows on every page view (`SELECT COUNT(*)`), and once more
for "N total" unless `show_full_result_count` is off; on a table of a million rows each
count reads the whole table. `EstimatedCountPaginator` counts exactly up to `EXACT_UP_TO`
rows (a count over a LIMIT: cheap whatever the table), and past that takes PostgreSQL's
planner estimate of the same query (`EXPLAIN`, which reads the table's statistics, not its
rows), as large Django admins do. Other databases count exactly.

A list filter of a column's values (`AllValuesFieldListFilter`) reads the whole table too;
`IndexedValuesFilter` reads them from the column's index instead.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.core.paginator import Paginator
from django.db import connections
from django.utils.functional import cached_property

EXACT_UP_TO = 10_000


class EstimatedCountPaginator(Paginator):
    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        using = getattr(queryset, "db", None)
        if using is None or connections[using].vendor != "postgresql":
            return super().count
        bounded = queryset.order_by()[: EXACT_UP_TO + 1].count()
        if bounded <= EXACT_UP_TO:
            return bounded
        plan = json.loads(queryset.order_by().explain(format="json"))
        self.estimated = True
        return max(int(plan[0]["Plan"]["Plan Rows"]), EXACT_UP_TO + 1)


class LargeListMixin:
    """For the ModelAdmin of a table that grows without bound."""

    paginator = EstimatedCountPaginator
    show_full_result_count = False


class IndexedValuesFilter(admin.AllValuesFieldListFilter):
    """Django's filter of a column's values, for a column with an index of its own: on
    PostgreSQL the values are read with a skip scan of the index (a recursive query, one
    index probe per distinct value) instead of a `DISTINCT` that reads every row. Falls back
    to Django's query elsewhere, for a related field, or when the admin narrows its list."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        queryset = model_admin.get_queryset(request)
        if (
            field_path == field.name
            and field.model is model
            and connections[queryset.db].vendor == "postgresql"
            and not queryset.query.where
        ):
            self.lookup_choices = _distinct_values(model, field, queryset.db)


def _distinct_values(model, field, using: str) -> list:
    table = connections[using].ops.quote_name(model._meta.db_table)
    column = connections[using].ops.quote_name(field.column)
    sql = f"""
        WITH RECURSIVE found(value) AS (
            (SELECT {column} FROM {table} WHERE {column} IS NOT NULL ORDER BY 1 LIMIT 1)
            UNION ALL
            SELECT (SELECT {column} FROM {table} WHERE {column} > found.value ORDER BY 1 LIMIT 1)
            FROM found WHERE found.value IS NOT NULL
        )
        SELECT value FROM found WHERE value IS NOT NULL
    """
    with connections[using].cursor() as cursor:
        cursor.execute(sql)
        values = [row[0] for row in cursor.fetchall()]
        if field.null:
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {table} WHERE {column} IS NULL)")
            if cursor.fetchone()[0]:
                values.append(None)
    return values
