"""How the parties of a chain read in a sentence: "via United States; financed by Germany".

One wording for the admin lists, the report emails and anything else that shows a pledge or
transfer with its other parties (docs/records.md)."""

from __future__ import annotations

from collections.abc import Iterable

from transfers.choices import PartyRoleKind

# The words before the parties of each role, in the order a sentence gives them.
ROLE_PHRASES = {
    PartyRoleKind.ARRANGER: "via",
    PartyRoleKind.FINANCER: "financed by",
    PartyRoleKind.REEXPORT_CONSENT: "re-export consented by",
    PartyRoleKind.INTERMEDIARY: "delivered via",
    PartyRoleKind.ORIGINAL_SUPPLIER: "originally from",
}


def roles_phrase(roles: Iterable) -> str:
    """'via United States; financed by Germany, Netherlands' from a movement's roles."""
    by_role: dict[str, list[str]] = {}
    for role in roles:
        by_role.setdefault(role.role, []).append(str(role.party))
    return "; ".join(
        f"{phrase} {', '.join(by_role[role])}"
        for role, phrase in ROLE_PHRASES.items()
        if role in by_role
    )
