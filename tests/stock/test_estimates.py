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

from stock import refresh
from stock.estimates import Range, estimate_from_rows, family_from_rows
from stock.ledger import ledger_rebuild
from stock.models import COUNTED, EstimatePoint, LedgerEntry, StaleEstimate, StockEstimate
from stock.selectors import estimate_explanation, estimate_series, estimates_as_of
from stock.series import point_estimate
from stock.tasks import estimates_refresh, estimates_sweep
from tests.factories import WeaponSystemFactory, state
from transfers import services

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
dates = st.one_of(
    st.none(),
    st.tuples(
        st.dates(dt.date(2020, 1, 1), dt.date(2025, 12, 31)),
        st.sampled_from(["day", "day", "month", "year", "on_or_before", "between"]),
        st.integers(0, 400),
    ),
)
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


def _create(kind, holder, other, system, quantity, dated):
    low, high = quantity
    date, precision, days = dated if dated else (None, "unknown", 0)
    common = {
        "system": system,
        "quantity_low": low,
        "quantity_high": high,
        "quantity_text": "" if low is not None else "unknown",
        "date": date,
        "date_precision": precision,
        "date_end": date + dt.timedelta(days=days) if precision == "between" else None,
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
        for row in LedgerEntry.objects.filter(COUNTED):
            rows.setdefault((row.holder_id, row.system_id), []).append(row)
        # 1. the set-based SQL, as of a random date, equals the pure function on each pair
        today = timezone.localdate()
        sql = {(r["holder_id"], r["system_id"]): r for r in refresh.estimates_select(as_of=as_of)}
        expected = {}
        for pair, pair_rows in rows.items():
            kept = [r for r in pair_rows if r.date_earliest is None or r.date_earliest <= as_of]
            if kept:
                estimate, evidence = estimate_from_rows(pair_rows, as_of, today)
                expected[pair] = (estimate, evidence)
        assert set(sql) == set(expected)
        for pair, (estimate, evidence) in expected.items():
            got = StockEstimate(**sql[pair])
            assert point_estimate(got) == point_estimate_of(estimate), pair
            assert got.best_grade == evidence["best_grade"]
            assert got.record_count == evidence["record_count"]
            assert got.baseline_date == evidence["baseline_date"]
        # 2. the family scope (SQL) sums its members' flows as the pure function does
        as_of_family = {
            e.holder_id: e for e in estimates_as_of(as_of, system_ids=[family.pk], scope="family")
        }
        for holder_id in {h for h, _ in rows}:
            members = {s.pk: rows.get((holder_id, s.pk), []) for s in systems[:2]}
            estimate, evidence = family_from_rows(members, as_of, today)
            if estimate is None:
                assert holder_id not in as_of_family
                continue
            got = as_of_family[holder_id]
            assert point_estimate(got) == point_estimate_of(estimate), holder_id
            assert got.record_count == evidence["record_count"]
            assert got.baseline_date == evidence["baseline_date"]
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


def test_a_year_precision_date_may_count_from_the_first_of_january():
    system = WeaponSystemFactory()
    services.transfer_create(
        donor=state("US"),
        recipient=state("PL"),
        system=system,
        quantity_text="12",
        date=dt.date(2021, 8, 9),
        date_precision="year",
    )
    # "2021": it may have happened by 1 January, it surely had by 31 December
    as_of_new_year = estimates_as_of(dt.date(2021, 1, 1), holder_ids=[state("PL").pk])
    assert [e.range("received") for e in as_of_new_year] == [Range(0, 12)]
    as_of_new_year_eve = estimates_as_of(dt.date(2021, 12, 31), holder_ids=[state("PL").pk])
    assert [e.range("received") for e in as_of_new_year_eve] == [Range(12, 12)]
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

    monkeypatch.setattr("stock.series.series_refresh_pairs", die)
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
    series = estimate_series(state("PL").pk, system.pk)
    by_month = {p.as_of: p.on_hand for p in series}
    assert by_month[dt.date(2024, 1, 31)] == Range(10, 10)
    assert by_month[dt.date(2024, 2, 29)] == Range(10, 10)  # carried forward
    assert by_month[dt.date(2024, 3, 31)] == Range(15, 15)
    assert max(by_month) >= timezone.localdate().replace(day=1)
    assert list(by_month) == sorted(by_month) and len(by_month) == len(set(by_month))
    # only the changes are stored: January's count and March's delivery
    stored = EstimatePoint.objects.filter(holder=state("PL"), system=system, scope="system")
    assert sorted(p.as_of for p in stored) == [dt.date(2024, 1, 31), dt.date(2024, 3, 31)]


def test_series_storage_grows_with_changes_not_with_months(django_assert_max_num_queries):
    system = WeaponSystemFactory()
    for year in (1960, 1975, 2019):
        services.transfer_create(
            donor=state("US"), recipient=state("PL"), system=system, quantity_text="3",
            date=dt.date(year, 5, 17),
        )  # fmt: skip
    _refresh_stale()
    # ten years of months (the window), two stored points: its first month, and the
    # month of the 2019 delivery
    stored = EstimatePoint.objects.filter(holder=state("PL"), system=system)
    assert [(p.as_of.year, p.on_hand) for p in stored.order_by("as_of")] == [
        (timezone.localdate().year - 10, Range(6, None)),
        (2019, Range(9, None)),
    ]
    poland = state("PL").pk
    with django_assert_max_num_queries(1):
        series = estimate_series(poland, system.pk)
    assert len(series) >= 119  # every month of the window, read from two rows
    assert {p.on_hand for p in series if p.as_of >= dt.date(2019, 5, 31)} == {Range(9, None)}


def test_a_rebuild_gives_the_same_numbers_after_the_estimates_are_wiped():
    from django.core.management import call_command

    call_command("load_demo")
    _refresh_stale()
    before = (_stored("system"), _stored("family"))
    points = EstimatePoint.objects.count()
    StockEstimate.objects.all().delete()
    LedgerEntry.objects.all().delete()
    EstimatePoint.objects.all().delete()
    from stock.tasks import estimates_rebuild

    estimates_rebuild.run()
    assert (_stored("system"), _stored("family")) == before
    assert EstimatePoint.objects.count() == points


@pytest.mark.usefixtures("committed_db")
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


def test_family_points_sum_their_members_flows_month_by_month():
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
    services.expenditure_create(
        holder=state("PL"), system=two, kind="destroyed", quantity_text="2",
        date=dt.date(2024, 4, 1), date_precision="month",
    )  # fmt: skip
    _refresh_stale()
    today = timezone.localdate()
    members = {
        system.pk: list(LedgerEntry.objects.filter(holder=state("PL"), system=system))
        for system in (one, two)
    }
    points = EstimatePoint.objects.filter(holder=state("PL"), system=family, scope="family")
    family_points = {p.as_of: p for p in points}
    assert min(family_points) == dt.date(2024, 1, 31)
    for as_of, point in family_points.items():
        day = today if as_of >= today.replace(day=1) else as_of
        estimate, _ = family_from_rows(members, day, today)
        assert point_estimate(point) == point_estimate_of(estimate), as_of
    assert family_points[dt.date(2024, 3, 31)].range("received") == Range(5 + 9, 5 + 11)
    assert family_points[dt.date(2024, 4, 30)].on_hand == Range(5 + 9 - 2, None)


# -- families that add up (issue 13, part 2) ---------------------------------------------


@pytest.mark.parametrize(
    ("received", "lost", "on_hand"),
    [((191, 195), 65, 126), ((296, 296), 94, 202), ((40, 40), 4, 36)],
)
def test_a_loss_recorded_under_a_variant_lowers_the_family(received, lost, on_hand):
    # The shapes of the issue: a family received 191-195 (Bradley 296, HIMARS 40) under its
    # main system and lost 65 (94, 4) recorded under a variant: the family has at least
    # 126 (202, 36), not 191-unknown.
    family = WeaponSystemFactory()
    variant = WeaponSystemFactory(parent=family)
    services.transfer_create(
        donor=state("US"), recipient=state("UA"), system=family,
        quantity_low=received[0], quantity_high=received[1], date=dt.date(2023, 3, 1),
    )  # fmt: skip
    services.expenditure_create(
        holder=state("UA"), system=variant, kind="destroyed",
        quantity_low=lost, quantity_high=lost, date=dt.date(2024, 1, 1),
    )  # fmt: skip
    _refresh_stale()
    estimate = _estimate("UA", family, scope="family")
    assert estimate.on_hand == Range(on_hand, None)
    assert estimate.range("received") == Range(*received)
    assert estimate.range("expended") == Range(lost, lost)
    assert not estimate.inconsistent
    # the same numbers as of a past date, and in the monthly series
    (as_of,) = estimates_as_of(
        dt.date(2024, 6, 30), holder_ids=[state("UA").pk], system_ids=[family.pk], scope="family"
    )
    assert as_of.on_hand == Range(on_hand, None)
    point = EstimatePoint.objects.get(
        holder=state("UA"), system=family, scope="family", as_of=dt.date(2024, 1, 31)
    )
    assert point.on_hand == Range(on_hand, None)


def test_a_family_with_baselines_flags_losses_beyond_what_was_there():
    family = WeaponSystemFactory()
    variant = WeaponSystemFactory(parent=family)
    for system in (family, variant):
        services.holding_create(
            holder=state("UA"), system=system, quantity_low=5, quantity_high=5,
            date=dt.date(2022, 1, 1),
        )  # fmt: skip
    services.expenditure_create(
        holder=state("UA"), system=variant, kind="destroyed", quantity_text="12",
        date=dt.date(2023, 1, 1),
    )  # fmt: skip
    _refresh_stale()
    assert _estimate("UA", family, scope="family").inconsistent
    assert _estimate("UA", variant).inconsistent
    assert not _estimate("UA", family).inconsistent


# -- honest dates (issue 13, part 1) -------------------------------------------------------


def test_losses_on_or_before_a_date_are_not_absorbed_by_an_earlier_baseline():
    # The example: Ukraine x Leopard 2A4 counted 0 on 2021-12-31, 71-75 received in
    # dated rows, 15 losses recorded on or before dates in 2023-2024.
    system = WeaponSystemFactory()
    services.holding_create(
        holder=state("UA"), system=system, quantity_low=0, quantity_high=0,
        date=dt.date(2021, 12, 31),
    )  # fmt: skip
    services.transfer_create(
        donor=state("DE"), recipient=state("UA"), system=system, quantity_text="40",
        date=dt.date(2023, 2, 24),
    )  # fmt: skip
    services.transfer_create(
        donor=state("PL"), recipient=state("UA"), system=system, quantity_text="31-35",
        date=dt.date(2023, 6, 1), date_precision="month",
    )  # fmt: skip
    for n in range(15):
        services.expenditure_create(
            holder=state("UA"), system=system, kind="destroyed", quantity_text="1",
            date=dt.date(2023 + n % 2, 1 + n % 12, 5), date_precision="on_or_before",
        )  # fmt: skip
    _refresh_stale()
    estimate = _estimate("UA", system)
    assert estimate.range("received") == Range(71, 75)
    assert estimate.range("expended") == Range(0, 15)
    assert estimate.on_hand == Range(56, 75)
    assert estimate.record_count == 18
    loss = LedgerEntry.objects.filter(holder=state("UA"), kind="expended").first()
    assert loss.date_earliest is None and loss.date_display.startswith("on or before 202")
    # a "between" date straddling an as-of date widens the range as of then
    services.expenditure_create(
        holder=state("UA"), system=system, kind="destroyed", quantity_text="2",
        date=dt.date(2023, 3, 1), date_precision="between", date_end=dt.date(2023, 4, 30),
    )  # fmt: skip
    (mid,) = estimates_as_of(dt.date(2023, 3, 31), holder_ids=[state("UA").pk])
    # every loss "on or before" may have happened by then; the June delivery had not
    assert mid.range("expended") == Range(0, 2 + 15)
    assert mid.on_hand == Range(40 - 17, 40)
    _refresh_stale()
    assert _estimate("UA", system).range("expended") == Range(2, 17)  # surely after the count
