"""Quantities are ranges: a low bound, a high bound that may be unbounded, and the words.

`parse_quantity` turns the wording found in reports and datasets into a `QuantityRange`.
The table below is the documented mapping (also in docs/quantities.md); anything it does
not recognise is refused with `QuantityParseError`, never guessed.

=========================================  ==================  ==============================
Wording                                    Range (low, high)   Rule
=========================================  ==================  ==============================
"" / "?" / "unknown" / "n/a" / "undisclosed"  unknown (-, -)   no number at all: not zero
"20", "1,200", "twenty", "a dozen"         (20, 20)            exact
"10-20", "10 to 20", "10–20", "between 10 and 20"  (10, 20)    explicit range; low > high refused
"at least 20", "20+", "minimum 20"         (20, -)             unbounded above
"more than 20", "over 20", "in excess of 20"  (21, -)          strictly more
"up to 50", "at most 50", "no more than 50"  (1, 50)           at least one was meant
"fewer than 50", "less than 50", "under 50"  (1, 49)           strictly fewer
"about 100", "around", "approximately", "some 100", "~100", "c. 100", "roughly",
"nearly", "almost", "100?" (SIPRI's estimate flag)           (90, 110)  ±10 %, rounded outward
"a few"                                    (2, 4)
"several", "a number of"                   (3, 9)
"some", "an unknown number", "multiple"    (1, -)              present, size unknown
"dozens", "tens"                           (24, 99)
"hundreds"                                 (200, 999)
"thousands"                                (2000, 9999)
=========================================  ==================  ==============================

Any exact or range phrase may also carry "more" ("dozens more", "10 more"): the word is
ignored, the range stays. Oryx's count 0 and SIPRI's blank cells are mapped to unknown by the
importers, not here: "0" here is an exact zero.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


class QuantityParseError(ValueError):
    """The wording names no quantity we can map without guessing."""


@dataclass(frozen=True, slots=True)
class QuantityRange:
    """A quantity as a closed range. `None` as low means unknown; `None` as high, unbounded."""

    low: int | None
    high: int | None
    text: str = ""

    def __post_init__(self) -> None:
        if self.low is not None and self.low < 0:
            raise QuantityParseError(f"low bound {self.low} is negative")
        if self.high is not None and self.high < 0:
            raise QuantityParseError(f"high bound {self.high} is negative")
        if self.low is None and self.high is not None:
            raise QuantityParseError("a high bound needs a low bound")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise QuantityParseError(f"low bound {self.low} is above high bound {self.high}")

    @property
    def is_unknown(self) -> bool:
        return self.low is None

    @property
    def is_exact(self) -> bool:
        return self.low is not None and self.low == self.high

    def __str__(self) -> str:
        return format_range(self.low, self.high)


def format_range(low: int | None, high: int | None) -> str:
    if low is None:
        return "unknown"
    if high is None:
        return f"≥{low}"
    if low == high:
        return str(low)
    return f"{low}–{high}"


UNKNOWN_WORDS = {
    "",
    "?",
    "??",
    "unknown",
    "n/a",
    "na",
    "unspecified",
    "undisclosed",
    "not disclosed",
    "not known",
    "unclear",
}

NUMBER_WORDS = {
    "zero": 0,
    "one": 1,
    "a": 1,
    "an": 1,
    "single": 1,
    "a single": 1,
    "two": 2,
    "a pair of": 2,
    "a couple of": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "a dozen": 12,
    "dozen": 12,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "a hundred": 100,
    "one hundred": 100,
    "hundred": 100,
}

VAGUE_WORDS: dict[str, tuple[int, int | None]] = {
    "a few": (2, 4),
    "few": (2, 4),
    "several": (3, 9),
    "a number of": (3, 9),
    "some": (1, None),
    "an unknown number": (1, None),
    "unknown number": (1, None),
    "multiple": (1, None),
    "dozens": (24, 99),
    "dozens of": (24, 99),
    "tens": (24, 99),
    "tens of": (24, 99),
    "hundreds": (200, 999),
    "hundreds of": (200, 999),
    "thousands": (2000, 9999),
    "thousands of": (2000, 9999),
}

AT_LEAST = ("at least", "minimum of", "minimum", "no fewer than", "no less than", "not less than")
MORE_THAN = ("more than", "over", "in excess of", "upwards of")
UP_TO = ("up to", "at most", "no more than", "not more than", "maximum of", "maximum")
FEWER_THAN = ("fewer than", "less than", "under", "below")
ABOUT = (
    "about",
    "around",
    "approximately",
    "approx.",
    "approx",
    "roughly",
    "some",
    "nearly",
    "almost",
    "an estimated",
    "estimated",
    "c.",
    "ca.",
    "circa",
    "~",
)

_NUMBER = r"\d{1,3}(?:,\d{3})+|\d+"
_RANGE_RE = re.compile(rf"^(?:between\s+)?({_NUMBER})\s*(?:-|–|—|to|and)\s*({_NUMBER})$")
_PLUS_RE = re.compile(rf"^({_NUMBER})\s*\+$")


def approximately(value: int) -> tuple[int, int]:
    """±10 %, rounded outward; an approximate positive number is never below one."""
    low = (value * 9) // 10
    high = -(-(value * 11) // 10)
    if value > 0:
        low = max(low, 1)
    return low, high


def _number(token: str) -> int | None:
    token = token.strip()
    if re.fullmatch(_NUMBER, token):
        return int(token.replace(",", ""))
    return NUMBER_WORDS.get(token)


def _strip_prefix(text: str, prefixes: tuple[str, ...]) -> str | None:
    for prefix in prefixes:
        if text == prefix:
            continue
        if prefix == "~" and text.startswith("~"):
            return text[1:].strip()
        if text.startswith(prefix + " "):
            return text[len(prefix) + 1 :].strip()
    return None


def parse_quantity(text: str | int | None) -> QuantityRange:
    """Map the wording of a quantity to a range, or raise `QuantityParseError`."""
    if text is None:
        return QuantityRange(None, None, "")
    if isinstance(text, int):
        if text < 0:
            raise QuantityParseError(f"quantity {text} is negative")
        return QuantityRange(text, text, str(text))
    original = str(text).strip()
    words = re.sub(r"\s+", " ", original.lower())
    # "dozens more", "10 more", "a further 20": "more"/"further"/"additional" adds nothing.
    words = re.sub(r"\s(more|units?|pieces?|items?)$", "", words)
    words = re.sub(r"^(a further|another|an additional|additional|further)\s", "", words)
    words = re.sub(r"\s+", " ", words).strip(" .")
    if words in UNKNOWN_WORDS:
        return QuantityRange(None, None, original)
    if words.startswith("-") or re.search(r"(^|\s)-\s*\d", words):
        raise QuantityParseError(f"quantity {original!r} is negative")

    if (value := _number(words)) is not None:
        return QuantityRange(value, value, original)
    if words in VAGUE_WORDS:
        low, high = VAGUE_WORDS[words]
        return QuantityRange(low, high, original)
    if words.endswith("?") and (value := _number(words[:-1])) is not None:
        return QuantityRange(*approximately(value), original)
    if match := _RANGE_RE.match(words):
        low, high = (int(group.replace(",", "")) for group in match.groups())
        if low > high:
            raise QuantityParseError(f"range {original!r} has its low bound above its high bound")
        return QuantityRange(low, high, original)
    if match := _PLUS_RE.match(words):
        return QuantityRange(int(match.group(1).replace(",", "")), None, original)

    for prefixes, build in (
        (AT_LEAST, lambda n: (n, None)),
        (MORE_THAN, lambda n: (n + 1, None)),
        (UP_TO, lambda n: (min(1, n), n)),
        (FEWER_THAN, lambda n: (1, n - 1) if n > 1 else None),
        (ABOUT, lambda n: approximately(n)),
    ):
        rest = _strip_prefix(words, prefixes)
        if rest is None:
            continue
        value = _number(rest)
        if value is None:
            if rest in VAGUE_WORDS and prefixes is ABOUT:
                return QuantityRange(*VAGUE_WORDS[rest], original)
            break
        bounds = build(value)
        if bounds is None:
            raise QuantityParseError(f"quantity {original!r} names no possible number")
        return QuantityRange(bounds[0], bounds[1], original)

    raise QuantityParseError(
        f"cannot read a quantity from {original!r}: use a number, a range such as '10-20', "
        "or a documented phrase such as 'at least 20', 'about 100', 'dozens' or 'unknown'"
    )
