"""Editors' decisions about movements: confirm, reject, merge, split.

Every decision is a `MatchDecision` about a pair of dataset flows, written through the
tracked write kernel (history: who, when, through which door) with its reason, and then
the block is matched again (`stock.matching.match_blocks`), so the movements, the
superseded rows and the estimates follow. A rejected pair is never proposed again; a
confirmed one is merged whatever its score.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from core.services import Actor, tracked_save
from stock.choices import MatchStatus
from stock.matching import Block, block_of, match_blocks
from stock.models import MatchDecision, Movement, MovementReport


def _decide(
    *, a: MovementReport, b: MovementReport, status: str, actor: Actor, reason: str
) -> MatchDecision:
    """Record the decision about the flows of two reports (created when new)."""
    if block_of(a) != block_of(b):
        raise ValidationError(
            {
                "movement": f"{a.origin_label!r} and {b.origin_label!r} are not the same kind "
                "of movement between the same parties in one system family."
            }
        )
    if a.dataset == b.dataset:
        raise ValidationError(
            {
                "movement": f"{a.origin_label!r} and {b.origin_label!r} are both from "
                f"{a.dataset!r}: rows of one dataset add up, they are never one report twice."
            }
        )
    if b.flow_key < a.flow_key:
        a, b = b, a
    decision = MatchDecision.objects.filter(flow_a=a.flow_key, flow_b=b.flow_key).first()
    if decision is None:
        kind, donor, holder, family = block_of(a)
        decision = MatchDecision(
            flow_a=a.flow_key,
            flow_b=b.flow_key,
            label_a=a.origin_label,
            label_b=b.origin_label,
            kind=kind,
            donor_id=donor or None,
            holder_id=holder,
            family_id=family,
        )
    decision.status = status
    decision.decided_by = actor.get_username() if actor is not None else ""
    decision.decided_at = timezone.now()
    decision.reason = (reason or "")[:500]
    return tracked_save(decision, actor=actor)


def _representative(decision: MatchDecision, key: str) -> MovementReport:
    for report in MovementReport.objects.filter(
        kind=decision.kind, holder_id=decision.holder_id, family_id=decision.family_id
    ):
        if report.flow_key == key:
            return report
    raise ValidationError({"flow": f"No report is left of {key!r}: nothing to decide."})


def match_confirm(*, decision: MatchDecision, actor: Actor = None, reason: str = "") -> None:
    """The two flows are one movement (counted once, whatever the score)."""
    match_set_status(decision=decision, status=MatchStatus.CONFIRMED, actor=actor, reason=reason)


def match_reject(*, decision: MatchDecision, actor: Actor = None, reason: str = "") -> None:
    """The two flows are different movements: never proposed again."""
    match_set_status(decision=decision, status=MatchStatus.REJECTED, actor=actor, reason=reason)


def match_set_status(
    *, decision: MatchDecision, status: str, actor: Actor = None, reason: str = ""
) -> None:
    if status not in (MatchStatus.CONFIRMED, MatchStatus.REJECTED):
        raise ValidationError({"status": f"{status!r} is not 'confirmed' or 'rejected'."})
    with transaction.atomic():
        a = _representative(decision, decision.flow_a)
        b = _representative(decision, decision.flow_b)
        _decide(a=a, b=b, status=status, actor=actor, reason=reason)
        match_blocks({block_of(a)})


def movement_merge(*, movements: list[Movement], actor: Actor = None, reason: str = "") -> None:
    """Make these movements one: every pair of their flows from different datasets is
    confirmed (two flows of one dataset in them refuse the merge: they add up)."""
    movements = list(movements)
    if len(movements) < 2:
        raise ValidationError({"movements": "Choose two or more movements to merge."})
    blocks = {block_of(m) for m in movements}
    if len(blocks) > 1:
        raise ValidationError(
            {
                "movements": "Only movements of one kind between the same parties in one "
                f"system family can be merged, not {', '.join(str(m) for m in movements)}."
            }
        )
    with transaction.atomic():
        flows: dict[str, MovementReport] = {}
        for report in MovementReport.objects.filter(movement__in=movements).order_by("id"):
            flows.setdefault(report.flow_key, report)
        members = sorted(flows.values(), key=lambda r: r.flow_key)
        for index, a in enumerate(members):
            for b in members[index + 1 :]:
                if a.movement_id != b.movement_id:
                    _decide(a=a, b=b, status=MatchStatus.CONFIRMED, actor=actor, reason=reason)
        match_blocks(blocks)


def report_merge(
    *, report: MovementReport, into: MovementReport, actor: Actor = None, reason: str = ""
) -> None:
    """Count `report` as a second report of the movement `into` belongs to (or make the
    two one movement): the pair of their flows is confirmed."""
    with transaction.atomic():
        _decide(a=report, b=into, status=MatchStatus.CONFIRMED, actor=actor, reason=reason)
        match_blocks({block_of(report)})


def movement_split(*, report: MovementReport, actor: Actor = None, reason: str = "") -> None:
    """Take a report's flow (its dataset's reports of this movement) out of its movement:
    the pairs it forms with the other flows are rejected, so they stay apart."""
    if report.movement_id is None:
        raise ValidationError({"report": f"{report.origin_label!r} is in no movement."})
    with transaction.atomic():
        others: dict[str, MovementReport] = {}
        for other in MovementReport.objects.filter(movement_id=report.movement_id):
            if other.flow_key != report.flow_key:
                others.setdefault(other.flow_key, other)
        for other in others.values():
            _decide(a=report, b=other, status=MatchStatus.REJECTED, actor=actor, reason=reason)
        match_blocks({block_of(report)})


def blocks_rematch(blocks: set[Block]) -> dict[str, int]:
    """Recompute these blocks (admin action after changing thresholds or the catalogue)."""
    return match_blocks(blocks)
