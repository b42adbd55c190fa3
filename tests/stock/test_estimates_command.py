"""manage.py estimates refresh|rebuild|status: the estimates without a worker."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from stock.estimates import Range
from stock.models import EstimatePoint, LedgerEntry, StaleEstimate, StockEstimate
from tests.factories import WeaponSystemFactory, state
from transfers import services

pytestmark = pytest.mark.django_db


def _run(*args):
    out, err = StringIO(), StringIO()
    call_command("estimates", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _records():
    family = WeaponSystemFactory()
    variant = WeaponSystemFactory(parent=family)
    services.holding_create(
        holder=state("UA"), system=family, quantity_low=10, quantity_high=10,
        date=dt.date(2022, 1, 1),
    )  # fmt: skip
    services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=variant, quantity_text="4",
        date=dt.date(2022, 6, 1),
    )  # fmt: skip
    return family, variant


def _numbers():
    return {
        (e.holder_id, e.system_id, e.scope): (e.on_hand, e.range("received"), e.record_count)
        for e in StockEstimate.objects.all()
    }


def test_refresh_computes_what_a_worker_would_have_and_clears_the_marks():
    family, variant = _records()
    assert StaleEstimate.objects.count() == 3 and not StockEstimate.objects.exists()
    out, _ = _run("status", "--no-progress")
    assert "stale pairs: 3" in out and "estimates: 0 system" in out

    out, err = _run("refresh")
    assert "refreshed 3 pair(s)" in out
    assert "pairs: 3/3" in err  # progress (a line per tenth when not on a terminal)
    assert not StaleEstimate.objects.exists()
    assert StockEstimate.objects.get(
        holder=state("UA"), system=family, scope="family"
    ).on_hand == Range(14, None)  # 10 counted (variant has no count: top unknown) + 4
    assert EstimatePoint.objects.filter(holder=state("UA"), system=variant).exists()
    out, _ = _run("status")
    assert "every estimate is fresh" in out and "estimates: 3 system, 2 family" in out

    # --all recomputes everything and, with nothing changed, writes nothing
    before = _numbers()
    out, _ = _run("refresh", "--all", "--batch-size", "1", "--no-progress")
    assert "refreshed 3 pair(s), 0 estimate(s) written" in out
    assert _numbers() == before


def test_rebuild_re_posts_the_ledger_and_gives_the_same_numbers_without_enqueueing(
    monkeypatch, django_capture_on_commit_callbacks
):
    _records()
    _run("refresh", "--no-progress")
    before, points = _numbers(), EstimatePoint.objects.count()
    StockEstimate.objects.all().delete()
    EstimatePoint.objects.all().delete()
    LedgerEntry.objects.all().delete()

    sent = []
    monkeypatch.setattr("stock.tasks.estimates_refresh.apply_async", lambda *a, **k: sent.append(k))
    with django_capture_on_commit_callbacks(execute=True):
        out, err = _run("rebuild")
    assert "rebuilt: 2 record(s) re-posted" in out
    assert "records: 2/2" in err and "series: 3/3" in err
    assert _numbers() == before and EstimatePoint.objects.count() == points
    assert sent == []  # the command recomputed everything itself
    assert not StaleEstimate.objects.exists()


def test_a_bad_batch_size_is_refused_naming_the_value():
    with pytest.raises(CommandError, match="--batch-size must be at least 1 \\(got 0\\)"):
        _run("refresh", "--batch-size", "0")


def _points():
    return sorted(
        EstimatePoint.objects.values_list(
            "holder_id", "system_id", "scope", "as_of", "on_hand_low", "on_hand_high",
            "received_low", "received_high", "record_count",
        )
    )  # fmt: skip


def test_a_full_refresh_brings_the_series_in_step_and_rewrites_none_when_nothing_changed():
    from django.db import connection

    from stock.refresh import estimates_refresh_all
    from stock.series import series_rebuild_all

    _records()
    result = estimates_refresh_all()  # from empty: every estimate, every series
    assert result["points"] > 0 and not StaleEstimate.objects.exists()
    from_full = _points()
    series_rebuild_all()
    assert _points() == from_full  # the series a rebuild writes

    written = []

    def count_writes(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if "estimatepoint" in sql.lower() or "COPY" in sql.upper():
            written.append(sql[:60])
        return result

    with connection.execute_wrapper(count_writes):
        assert estimates_refresh_all() == {"estimates": 0, "points": 0}
    assert written == []  # nothing changed: no point deleted nor written

    # a change the worker missed (the mark stays): the full refresh repairs the series too
    services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=WeaponSystemFactory(),
        quantity_text="2", date=dt.date(2023, 3, 1),
    )  # fmt: skip
    estimates_refresh_all()
    repaired = _points()
    series_rebuild_all()
    assert _points() == repaired != from_full
