"""Stock estimates: the set-based SQL refresh agrees with the pure arithmetic, the
incremental refresh agrees with a full rebuild, and the worked example gives the numbers a
person computes by hand."""

import datetime as dt
import threading

import pytest
from django.db import connection, connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory import refresh
from inventory.estimates import Range, estimate_from_rows, estimate_sum
from inventory.ledger import ledger_rebuild
from inventory.models import EstimatePoint, LedgerEntry, StaleEstimate, StockEstimate
from inventory.selectors import estimates_as_of
from inventory.series import point_estimate
from inventory.tasks import estimates_refresh, estimates_sweep
from tests.factories import WeaponSystemFactory, state
from transfers import services
from transfers.selectors import estimate_explanation

pytestmark = pytest.mark.django_db

COLUMNS = refresh.VALUE_COLUMNS


def _stored(scope="system"):
    return {
        (e.holder_id, e.system_id): {c: getattr(e, c) for c in COLUMNS}
        for e in StockEstimate.objects.filter(scope=scope)
    }


def _estimate(holder, system, scope="system"):
    return StockEstimate.objects.get(holder=state(holder), system=system, scope=scope)


def _refresh_stale():
    return refresh.estimates_refresh_pairs(
        StaleEstimate.objects.values_list("holder_id", "system_id")
    )


# -- the worked example -------------------------------------------------------------------


def test_the_worked_example_gives_the_estimates_computed_by_hand(django_assert_max_num_queries):
    from django.core.management import call_command

    from inventory.models import WeaponSystem

    call_command("load_demo")
    _refresh_stale()
    storm, atacms = (WeaponSystem.objects.get(name=n) for n in ("Storm Shadow", "ATACMS"))
    block_i = WeaponSystem.objects.get(name="ATACMS Block I")
    himars = WeaponSystem.objects.get(name="M142 HIMARS")

    # Ukraine, Storm Shadow: the UK sent an unknown number in May 2023 (>= 1) and "dozens
    # more" in Nov 2024 (24-99): received >= 25. Ukraine launched some (>= 1). No baseline is
    # known, so on hand is 0..unknown. France announced an unknown number (>= 1): incoming.
    ua_storm = _estimate("UA", storm)
    assert ua_storm.range("received") == Range(25, None)
    assert ua_storm.range("expended") == Range(1, None)
    assert ua_storm.on_hand == Range(0, None)
    assert ua_storm.incoming == Range(1, None)
    assert ua_storm.projected == Range(1, None)
    assert not ua_storm.has_baseline and not ua_storm.inconsistent
    # The UK's side: sent >= 25; France's: an outgoing pledge of >= 1.
    assert _estimate("GB", storm).range("sent") == Range(25, None)
    assert _estimate("FR", storm).outgoing == Range(1, None)

    # HIMARS: the US delivered 4 (June 2022): Ukraine has at least 4, at most unknown.
    assert _estimate("UA", himars).on_hand == Range(4, None)
    assert _estimate("US", himars).range("sent") == Range(4, 4)

    # ATACMS contracted by five buyers, quantity unknown: each has >= 1 incoming, nothing
    # on hand known.
    for buyer in ("KR", "TW", "RO", "PL", "AE"):
        estimate = _estimate(buyer, atacms)
        assert estimate.incoming == Range(1, None), buyer
        assert estimate.on_hand == Range(0, None), buyer

    # The pledge "under discussion" from an undisclosed donor adds nothing to Ukraine's
    # incoming ATACMS; the family rolls up Block I (received >= 1, launched >= 1) and the
    # family-level launch (>= 1).
    family = _estimate("UA", atacms, scope="family")
    assert family.incoming == Range(0, 0)
    assert family.range("received") == Range(1, None)
    assert family.range("expended") == Range(2, None)
    assert family.record_count == 3
    assert _estimate("UA", block_i).best_grade

    # one for the ledger rows, then per record type: records, citations, sources
    with django_assert_max_num_queries(1 + 4 * 3):
        items = estimate_explanation(holder_id=state("UA").pk, system_id=storm.pk)
    assert [item["entry"].kind for item in items] == [
        "received",
        "pledged_in",
        "expended",
        "received",
    ]
    assert all(item["citations"] for item in items)


# -- the SQL refresh against the pure function ----------------------------------------------

HOLDERS = ["UA", "PL", "US", "GB"]
quantities = st.one_of(
    st.tuples(st.integers(0, 50), st.integers(0, 50)).map(lambda t: (min(t), max(t))),
    st.tuples(st.integers(0, 50), st.none()),
    st.just((None, None)),
)
dates = st.one_of(st.none(), st.dates(dt.date(2020, 1, 1), dt.date(2025, 12, 31)))
records = st.lists(
    st.tuples(
        st.sampled_from(["baseline", "ordered", "transfer", "contract", "expenditure", "pledge"]),
        st.sampled_from(HOLDERS),
        st.sampled_from(HOLDERS),
        st.integers(0, 2),  # which system
        quantities,
        dates,
    ),
    min_size=1,
    max_size=12,
)


def _create(kind, holder, other, system, quantity, date):
    low, high = quantity
    common = {
        "system": system,
        "quantity_low": low,
        "quantity_high": high,
        "quantity_text": "" if low is not None else "unknown",
        "date": date,
        "date_precision": "day" if date else "unknown",
    }
    if kind in ("baseline", "ordered"):
        holding_kind = "in_inventory" if kind == "baseline" else "contracted"
        return services.holding_create(holder=state(holder), kind=holding_kind, **common)
    if kind == "expenditure":
        return services.expenditure_create(holder=state(holder), kind="destroyed", **common)
    if holder == other:
        return None
    if kind == "pledge":
        return services.pledge_create(donor=state(other), recipient=state(holder), **common)
    basis = "contract" if kind == "contract" else "unknown"
    return services.transfer_create(
        donor=state(other), recipient=state(holder), basis=basis, **common
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=records, later=records, as_of=st.dates(dt.date(2019, 1, 1), dt.date(2026, 1, 1)))
def test_sql_refresh_matches_the_pure_function_and_a_full_rebuild(batch, later, as_of):
    from django.db import transaction

    with transaction.atomic():
        family = WeaponSystemFactory()
        systems = [family, WeaponSystemFactory(parent=family), WeaponSystemFactory()]
        for spec in batch:
            _create(*spec[:3], systems[spec[3]], *spec[4:])
        _refresh_stale()
        for spec in later:  # a second batch, refreshed incrementally
            _create(*spec[:3], systems[spec[3]], *spec[4:])
        _refresh_stale()
        incremental = (_stored("system"), _stored("family"))

        rows: dict = {}
        for row in LedgerEntry.objects.filter(is_cancelled=False):
            rows.setdefault((row.holder_id, row.system_id), []).append(row)
        # 1. the set-based SQL, as of a random date, equals the pure function on each pair
        sql = {(r["holder_id"], r["system_id"]): r for r in refresh.estimates_select(as_of=as_of)}
        expected = {}
        for pair, pair_rows in rows.items():
            kept = [r for r in pair_rows if r.date is None or r.date <= as_of]
            if kept:
                estimate, evidence = estimate_from_rows(pair_rows, as_of)
                expected[pair] = (estimate, evidence)
        assert set(sql) == set(expected)
        for pair, (estimate, evidence) in expected.items():
            got = StockEstimate(**sql[pair])
            assert point_estimate(got) == point_estimate_of(estimate), pair
            assert got.best_grade == evidence["best_grade"]
            assert got.record_count == evidence["record_count"]
        # 2. the family scope is the sum of its members
        if as_of >= timezone.localdate():
            pass
        for holder_id in {h for h, _ in rows}:
            members = [
                StockEstimate(**sql[(holder_id, s.pk)])
                for s in systems[:2]
                if (holder_id, s.pk) in sql
            ]
            as_of_family = {
                e.holder_id: e
                for e in estimates_as_of(as_of, holder_ids=[holder_id], scope="family")
            }
            if members:
                summed = estimate_sum(point_estimate(m) for m in members)
                assert point_estimate(as_of_family[holder_id]) == summed
        # 3. the incremental result equals a full rebuild
        ledger_rebuild()
        refresh.estimates_refresh_all()
        assert (_stored("system"), _stored("family")) == incremental
        transaction.set_rollback(True)


def point_estimate_of(estimate):
    """The estimate as stored (the notes are not stored)."""
    from dataclasses import replace

    return replace(estimate, notes=())


# -- defined results for awkward input -------------------------------------------------------


def test_a_refresh_of_a_pair_that_no_longer_exists_removes_its_estimate_and_does_not_fail():
    system = WeaponSystemFactory()
    transfer = services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=system, quantity_text="3"
    )
    _refresh_stale()
    assert StockEstimate.objects.count() == 2
    services.record_delete(record=transfer)
    _refresh_stale()
    assert not StockEstimate.objects.exists()
    # ids that never existed, and malformed pairs, are a no-op, not an exception
    assert estimates_refresh.run(pairs=[[999999, 999999], ["x", None], [1]])["pairs"] == 1


def test_an_expenditure_larger_than_all_known_deliveries_is_flagged_not_negative():
    system = WeaponSystemFactory()
    services.holding_create(
        holder=state("UA"), system=system, quantity_low=0, quantity_high=0, date=dt.date(2022, 1, 1)
    )
    services.transfer_create(
        donor=state("US"),
        recipient=state("UA"),
        system=system,
        quantity_text="3",
        date=dt.date(2023, 1, 1),
    )
    services.expenditure_create(
        holder=state("UA"),
        system=system,
        kind="destroyed",
        quantity_text="10",
        date=dt.date(2024, 1, 1),
    )
    _refresh_stale()
    estimate = _estimate("UA", system)
    assert estimate.inconsistent
    assert estimate.on_hand == Range(0, 0)
    assert StockEstimate.objects.filter(inconsistent=True).count() == 1


def test_a_year_precision_date_counts_from_the_first_of_january():
    system = WeaponSystemFactory()
    services.transfer_create(
        donor=state("US"),
        recipient=state("PL"),
        system=system,
        quantity_text="12",
        date=dt.date(2021, 8, 9),
        date_precision="year",
    )
    as_of_new_year = estimates_as_of(dt.date(2021, 1, 1), holder_ids=[state("PL").pk])
    assert [e.range("received") for e in as_of_new_year] == [Range(12, 12)]
    assert estimates_as_of(dt.date(2020, 12, 31), holder_ids=[state("PL").pk]) == []


def test_an_unknown_quantity_gives_at_least_one_and_an_unknown_top():
    system = WeaponSystemFactory()
    services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=system, quantity_text="unknown"
    )
    _refresh_stale()
    assert _estimate("UA", system).on_hand == Range(1, None)
    assert _estimate("US", system).range("sent") == Range(1, None)


def test_a_refresh_killed_halfway_leaves_the_old_estimate(monkeypatch):
    system = WeaponSystemFactory()
    transfer = services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=system, quantity_text="3"
    )
    _refresh_stale()
    before = _stored()
    services.record_update(record=transfer, quantity_text="30")

    def die(*args, **kwargs):
        raise SystemExit("worker killed")

    monkeypatch.setattr("inventory.series.series_refresh_pairs", die)
    with pytest.raises(SystemExit):
        _refresh_stale()
    assert _stored() == before
    assert StaleEstimate.objects.count() == 2  # still stale: the sweeper will retry
    monkeypatch.undo()
    _refresh_stale()
    assert _estimate("UA", system).on_hand == Range(30, None)


def test_the_sweeper_refreshes_only_pairs_marked_stale_long_enough():
    system = WeaponSystemFactory()
    services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=system, quantity_text="3"
    )
    assert estimates_sweep.run(older_than_seconds=3600)["pairs"] == 0
    assert not StockEstimate.objects.exists()
    assert estimates_sweep.run(older_than_seconds=0)["pairs"] == 2
    assert StockEstimate.objects.count() == 2 and not StaleEstimate.objects.exists()


def test_estimates_as_of_a_past_date_and_the_monthly_series():
    system = WeaponSystemFactory()
    services.holding_create(
        holder=state("PL"),
        system=system,
        quantity_low=10,
        quantity_high=10,
        date=dt.date(2024, 1, 15),
    )
    services.transfer_create(
        donor=state("US"),
        recipient=state("PL"),
        system=system,
        quantity_text="5",
        date=dt.date(2024, 3, 10),
    )
    _refresh_stale()
    past = estimates_as_of(dt.date(2024, 2, 1), holder_ids=[state("PL").pk])
    assert [e.on_hand for e in past] == [Range(10, 10)]
    points = EstimatePoint.objects.filter(holder=state("PL"), system=system, scope="system")
    by_month = {p.as_of: p.on_hand for p in points}
    assert by_month[dt.date(2024, 1, 31)] == Range(10, 10)
    assert by_month[dt.date(2024, 2, 29)] == Range(10, 10)
    assert by_month[dt.date(2024, 3, 31)] == Range(15, 15)
    assert max(by_month) >= timezone.localdate().replace(day=1)


def test_a_rebuild_gives_the_same_numbers_after_the_estimates_are_wiped():
    from django.core.management import call_command

    call_command("load_demo")
    _refresh_stale()
    before = (_stored("system"), _stored("family"))
    points = EstimatePoint.objects.count()
    StockEstimate.objects.all().delete()
    LedgerEntry.objects.all().delete()
    EstimatePoint.objects.all().delete()
    from inventory.tasks import estimates_rebuild

    estimates_rebuild.run()
    assert (_stored("system"), _stored("family")) == before
    assert EstimatePoint.objects.count() == points


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_of_the_same_pairs_at_once_leave_one_correct_result():
    from inventory.services import parties_load

    parties_load()  # a transactional test may start from tables an earlier one flushed
    system = WeaponSystemFactory()
    for n in range(5):
        services.transfer_create(
            donor=state("US"),
            recipient=state("UA"),
            system=system,
            quantity_low=n + 1,
            quantity_high=n + 1,
        )
    pairs = list(StaleEstimate.objects.values_list("holder_id", "system_id"))
    errors = []

    def run():
        try:
            for _ in range(3):
                refresh.estimates_refresh_pairs(pairs)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert StockEstimate.objects.filter(scope="system").count() == 2
    assert _estimate("UA", system).on_hand == Range(15, None)
    assert connection.vendor in ("postgresql", "sqlite")


def test_family_points_are_the_sums_of_their_members_points_month_by_month():
    family = WeaponSystemFactory()
    one, two = WeaponSystemFactory(parent=family), WeaponSystemFactory(parent=family)
    services.transfer_create(
        donor=state("US"),
        recipient=state("PL"),
        system=one,
        quantity_text="5",
        date=dt.date(2024, 1, 10),
    )
    services.transfer_create(
        donor=state("US"),
        recipient=state("PL"),
        system=two,
        quantity_text="about 10",
        date=dt.date(2024, 3, 5),
    )
    _refresh_stale()
    points = EstimatePoint.objects.filter(holder=state("PL"))
    family_points = {p.as_of: p for p in points.filter(system=family, scope="family")}
    members: dict = {}
    for point in points.filter(system__in=[one, two], scope="system"):
        members.setdefault(point.as_of, []).append(point_estimate(point))
    assert set(family_points) == set(members)
    for as_of, parts in members.items():
        assert point_estimate(family_points[as_of]) == estimate_sum(parts), as_of
    assert family_points[dt.date(2024, 3, 31)].range("received") == Range(5 + 9, 5 + 11)
