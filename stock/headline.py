"""The headline of an estimate: what is known, in a few words, wherever an estimate is shown
(admin lists and pages, the API's `display`, report emails).

An on-hand range with a known upper bound is its own headline ("4", "24–99"). When the
upper bound is unknown (nobody counted the holder's stock), "unknown" would hide what is
known, so the headline names the known parts instead: "≥ 49 in, ≥ 2 used, no count" (49 or
more received, 2 or more expended, no counted baseline)."""

from __future__ import annotations

from stock.estimates import Range


def range_words(item: Range) -> str:
    """A range for a sentence: "49", "24–99", "≥ 49"."""
    if item.high is None:
        return f"≥ {item.low}"
    if item.low == item.high:
        return str(item.low)
    return f"{item.low}–{item.high}"


def estimate_headline(
    *,
    on_hand: Range,
    received: Range,
    sent: Range,
    expended: Range,
    has_baseline: bool,
    inconsistent: bool = False,
) -> str:
    """On hand when it is bounded; else the known parts ("≥ 49 in, ≥ 2 used, no count").
    An inconsistent estimate is bounded (0) and flagged where it is shown."""
    if inconsistent or on_hand.high is not None:
        return on_hand.display()
    parts = []
    if on_hand.low:
        parts.append(f"≥ {on_hand.low} on hand")
    for item, word in ((received, "in"), (sent, "out"), (expended, "used")):
        if item.low or item.high:
            parts.append(f"{range_words(item)} {word}")
    parts.append("counted" if has_baseline else "no count")
    return ", ".join(parts)


def headline_of(values) -> str:
    """The headline of a stored estimate or point (`inventory.models.EstimateValues`)."""
    return estimate_headline(
        on_hand=values.range("on_hand"),
        received=values.range("received"),
        sent=values.range("sent"),
        expended=values.range("expended"),
        has_baseline=values.has_baseline,
        inconsistent=values.inconsistent,
    )
