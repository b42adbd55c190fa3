"""The headline of an estimate says what is known: on hand when bounded, else the parts."""

from __future__ import annotations

import pytest

from stock.estimates import Range
from stock.headline import estimate_headline

NONE = Range(0, 0)


@pytest.mark.parametrize(
    ("on_hand", "received", "sent", "expended", "baseline", "expected"),
    [
        (Range(4, 4), NONE, NONE, NONE, True, "4"),
        (Range(24, 99), Range(24, 99), NONE, NONE, True, "24–99"),
        (
            Range(0, None),
            Range(49, None),
            NONE,
            Range(2, None),
            False,
            "≥ 49 in, ≥ 2 used, no count",
        ),
        (Range(49, None), Range(49, 49), NONE, NONE, False, "≥ 49 on hand, 49 in, no count"),
        (Range(0, None), Range(10, 12), Range(1, None), NONE, False, "10–12 in, ≥ 1 out, no count"),
        (Range(0, None), NONE, NONE, NONE, False, "no count"),
    ],
)
def test_headline_names_the_known_parts_when_on_hand_is_unbounded(
    on_hand, received, sent, expended, baseline, expected
):
    assert (
        estimate_headline(
            on_hand=on_hand,
            received=received,
            sent=sent,
            expended=expended,
            has_baseline=baseline,
        )
        == expected
    )


def test_an_inconsistent_estimate_shows_its_bounded_on_hand():
    assert (
        estimate_headline(
            on_hand=Range(0, 0),
            received=NONE,
            sent=Range(5, 5),
            expended=NONE,
            has_baseline=True,
            inconsistent=True,
        )
        == "0"
    )
