"""The two real SIPRI samples of ../shared/data/ (two export formats of the same deals, under
two keys) imported together give exactly what the newest export gives alone
(docs/reconciliation.md, "Editions"). The fixture-sized version of this check, in both
orders, is in test_movements.py; this one reads the real files where they are."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.stock.test_movements import _import, _numbers, _received, _refresh

DATA = Path(settings.BASE_DIR).parent / "shared" / "data"
SAMPLE_2026 = DATA / "sipri-trade-register-2026-sample.csv"
SAMPLE_CLASSIC = DATA / "sipri-trade-register-classic-sample.csv"

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not (SAMPLE_2026.exists() and SAMPLE_CLASSIC.exists()),
        reason="the real samples are read from ../shared/data/, next to the checkout",
    ),
]


def _counted(numbers: dict) -> dict:
    """The estimates that count anything (a pair only the superseded export names keeps
    an estimate of nothing)."""
    return {key: values for key, values in numbers.items() if any(values)}


def test_the_two_real_sipri_samples_give_what_the_2026_export_gives_alone():
    _import("sipri", SAMPLE_2026.read_bytes())
    _refresh()
    one = _counted(_numbers())
    assert _received("UA", "Leopard-2A4")[:2] == (71, 75)
    _import("sipri-classic", SAMPLE_CLASSIC.read_bytes())
    _refresh()
    assert _counted(_numbers()) == one
    assert _received("UA", "Leopard-2A4") == (71, 75, False)  # was 73, the intersection
