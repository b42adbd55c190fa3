"""Admin lists of a million rows without counting a million rows.

Django's changelist counts its rows on every page view (`SELECT COUNT(*)`), and once more
for "N total" unless `show_full_result_count` is off; on a table of a million rows each
count reads the whole table. `EstimatedCountPaginator` counts exactly up to `EXACT_UP_TO`
rows (a count over a LIMIT: cheap whatever the table), and past that takes PostgreSQL's
planner estimate of the same query (`EXPLAIN`, which reads the table's statistics, not its
rows), as large Django admins do. Other databases count exactly.
"""

from __future__ import annotations

import json

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
