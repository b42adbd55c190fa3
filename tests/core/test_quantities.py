"""The quantity parser: every documented phrase, and garbage refused or unknown."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.quantities import QuantityParseError, QuantityRange, parse_quantity


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("20", 20, 20),
        ("1,200", 1200, 1200),
        ("twenty", 20, 20),
        ("a dozen", 12, 12),
        ("10-20", 10, 20),
        ("10 to 20", 10, 20),
        ("10–20", 10, 20),
        ("between 10 and 20", 10, 20),
        ("at least 20", 20, None),
        ("20+", 20, None),
        ("no fewer than 20", 20, None),
        ("more than 20", 21, None),
        ("over 20", 21, None),
        ("up to 50", 1, 50),
        ("no more than 50", 1, 50),
        ("fewer than 50", 1, 49),
        ("less than 50", 1, 49),
        ("about 100", 90, 110),
        ("around 100", 90, 110),
        ("approximately 100", 90, 110),
        ("some 100", 90, 110),
        ("~100", 90, 110),
        ("c. 100", 90, 110),
        ("100?", 90, 110),
        ("about 5", 4, 6),
        ("about a dozen", 10, 14),
        ("a few", 2, 4),
        ("several", 3, 9),
        ("a number of", 3, 9),
        ("some", 1, None),
        ("dozens", 24, 99),
        ("dozens more", 24, 99),
        ("Dozens of", 24, 99),
        ("tens", 24, 99),
        ("hundreds", 200, 999),
        ("thousands", 2000, 9999),
        ("10 more", 10, 10),
        ("a further 20", 20, 20),
        ("0", 0, 0),
    ],
)
def test_documented_phrase_maps_to_its_range(text, low, high):
    parsed = parse_quantity(text)
    assert (parsed.low, parsed.high) == (low, high)
    assert parsed.text == text


@pytest.mark.parametrize("text", ["", "   ", "?", "unknown", "Unknown", "n/a", "undisclosed", None])
def test_no_number_is_unknown_not_zero(text):
    parsed = parse_quantity(text)
    assert parsed.is_unknown
    assert parsed.low is None and parsed.high is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("lots!!", "cannot read a quantity from 'lots!!'"),
        ("-5", "negative"),
        ("10-2", "low bound above its high bound"),
        ("fewer than 1", "names no possible number"),
        ("many tanks", "cannot read"),
        ("5 or 6 or 7", "cannot read"),
    ],
)
def test_garbage_is_refused_with_the_wording_named(text, message):
    with pytest.raises(QuantityParseError, match=message):
        parse_quantity(text)


def test_integer_input_is_exact_and_negative_integer_refused():
    assert parse_quantity(7) == QuantityRange(7, 7, "7")
    with pytest.raises(QuantityParseError):
        parse_quantity(-1)


@given(st.integers(min_value=0, max_value=10**6))
def test_any_plain_number_is_exact(value):
    parsed = parse_quantity(f"{value:,}")
    assert parsed.low == parsed.high == value


@given(st.integers(min_value=1, max_value=10**6))
def test_approximate_range_contains_the_number(value):
    parsed = parse_quantity(f"about {value}")
    assert 1 <= parsed.low <= value <= parsed.high


@given(st.text(max_size=30))
def test_parser_never_returns_an_inconsistent_range(text):
    try:
        parsed = parse_quantity(text)
    except QuantityParseError:
        return
    assert parsed.low is None or parsed.low >= 0
    assert parsed.high is None or (parsed.low is not None and parsed.low <= parsed.high)
