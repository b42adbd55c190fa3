"""The report's section on chains and policies (issue 17), kept apart from the rest of the
report: pledges and transfers whose other parties (arranger, financer, re-export consent,
intermediary, original supplier) are known, read as "via United States; financed by
Germany", and the policies that bear on the subscriber's open pledges."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q

from transfers.chains import roles_phrase
from transfers.choices import PledgeStatus
from transfers.models import PartyRole, Pledge, Transfer
from transfers.selectors import OPEN_PLEDGE_STATUSES, policies_bearing_on, roles_prefetch

MAX_CHAINS = 20
# Pledges the section reports as standing: open ones, and those still under discussion.
STANDING = (*OPEN_PLEDGE_STATUSES, PledgeStatus.UNDER_DISCUSSION)


@dataclass
class ChainLine:
    kind: str  # "pledge" or "transfer"
    label: str
    phrase: str  # "via United States; financed by Germany"
    admin_url: str


@dataclass
class PolicyLine:
    label: str
    statement: str
    date: str
    grade: str  # the citations' grades, "B3, C6"; empty: unsourced
    pledges: list[str]
    admin_url: str


@dataclass
class ChainSection:
    movements: list[ChainLine] = field(default_factory=list)
    policies: list[PolicyLine] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.movements and not self.policies


def chains_build(scope, start: dt.datetime, end: dt.datetime) -> ChainSection:
    """Movements in scope with other parties, changed in the period (they or their roles) or
    still open; the policies bearing on the open pledges in scope."""
    from reports.selectors import admin_url

    section = ChainSection()
    in_period = {"history_date__gte": start, "history_date__lt": end}
    role_rows = PartyRole.history.model.objects.filter(**in_period)
    for model in (Pledge, Transfer):
        name = model._meta.model_name
        touched = Q(pk__in=model.history.model.objects.filter(**in_period).values("id"))
        touched |= Q(pk__in=role_rows.filter(**{f"{name}__isnull": False}).values(f"{name}_id"))
        if model is Pledge:
            touched |= Q(status__in=STANDING)
        records = (
            scope.records(model)
            .filter(touched, roles__isnull=False)
            .distinct()
            .select_related("donor", "recipient", "system")
            .prefetch_related(roles_prefetch())
            .order_by("date", "id")[:MAX_CHAINS]
        )
        section.movements += [
            ChainLine(name, str(r), roles_phrase(r.roles.all()), admin_url(r)) for r in records
        ]
    open_pledges = list(
        scope.records(Pledge)
        .filter(status__in=STANDING)
        .select_related("donor", "recipient", "system")[:MAX_CHAINS]
    )
    bearing: dict[int, tuple] = {}
    for pledge_id, policies in policies_bearing_on(open_pledges).items():
        pledge = next(p for p in open_pledges if p.pk == pledge_id)
        for policy in policies:
            bearing.setdefault(policy.pk, (policy, []))[1].append(str(pledge))
    for policy, pledges in list(bearing.values())[:MAX_CHAINS]:
        section.policies.append(
            PolicyLine(
                label=str(policy),
                statement=policy.statement,
                date=policy.date_display,
                grade=", ".join(c.grade for c in policy.citations.all()),
                pledges=pledges,
                admin_url=admin_url(policy),
            )
        )
    return section


def chains_text(section: ChainSection, wrap, one_line) -> list[str]:
    """The plain-text lines of the section (none when it is empty)."""
    if section.is_empty:
        return []
    lines = ["", "== Chains and policies =="]
    for line in section.movements:
        lines += wrap(f"* {line.kind} {one_line(line.label)}: {line.phrase}", "")
        lines.append("  " + line.admin_url)
    for policy in section.policies:
        grade = policy.grade or "UNSOURCED"
        lines += wrap(
            f'* Policy, {policy.date}: {one_line(policy.label)} - "{one_line(policy.statement)}"'
            f" [{grade}]; bears on: {'; '.join(one_line(p) for p in policy.pledges)}",
            "",
        )
        lines.append("  " + policy.admin_url)
    return lines
