"""The estimate arithmetic (stock.estimates): the documented rules, one by one."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from core.values import date_interval
from stock.estimates import (
    Flows,
    Movement,
    Range,
    compute_estimate,
    counted,
    estimate_from_rows,
    estimates_by_month,
    family_by_month,
    family_from_rows,
    range_minus,
)

UNBOUNDED = None


def test_an_unknown_quantity_counts_at_least_one_and_at_most_unknown():
    assert counted(None, None) == Range(1, UNBOUNDED)
    assert counted(0, 0) == Range(0, 0)  # an explicit zero stays zero
    assert counted(20, None) == Range(20, UNBOUNDED)


def test_ranges_add_and_an_unbounded_side_stays_unbounded():
    assert Range(2, 4) + Range(3, 5) == Range(5, 9)
    assert Range(2, 4) + Range(1, UNBOUNDED) == Range(3, UNBOUNDED)


def test_subtraction_pairs_low_with_high_and_clamps_at_zero():
    assert range_minus(Range(10, 20), Range(2, 5)) == (Range(5, 18), False)
    assert range_minus(Range(10, 20), Range(15, 30)) == (Range(0, 5), False)
    assert range_minus(Range(10, 20), Range(25, 30)) == (Range(0, 0), True)
    # sending an unknown number makes the low bound 0, not negative infinity
    assert range_minus(Range(10, 20), Range(1, UNBOUNDED)) == (Range(0, 19), False)


def test_on_hand_with_a_baseline_is_baseline_plus_received_minus_sent_and_expended():
    estimate = compute_estimate(
        baseline=Range(100, 100),
        received=Range(24, 99),
        sent=Range(10, 10),
        expended=Range(5, 8),
    )
    assert estimate.on_hand == Range(100 + 24 - 10 - 8, 100 + 99 - 10 - 5)
    assert not estimate.inconsistent


def test_an_unknown_baseline_gives_an_unknown_upper_bound_not_zero():
    estimate = compute_estimate(baseline=None, received=Range(4, 4))
    assert estimate.on_hand == Range(4, UNBOUNDED)
    assert estimate.on_hand.display() == "≥4"
    assert estimate.notes


def test_expending_more_than_could_be_there_is_flagged_and_shown_as_zero():
    estimate = compute_estimate(baseline=Range(0, 0), received=Range(3, 3), expended=Range(5, 5))
    assert estimate.inconsistent
    assert estimate.on_hand == Range(0, 0)


def test_without_a_baseline_a_large_expenditure_is_not_inconsistent():
    # The holder may have had units we know nothing of.
    estimate = compute_estimate(baseline=None, received=Range(3, 3), expended=Range(50, 50))
    assert not estimate.inconsistent
    assert estimate.on_hand == Range(0, UNBOUNDED)


def test_incoming_is_open_pledges_plus_orders_not_yet_delivered_under_contract():
    estimate = compute_estimate(
        baseline=Range(10, 10),
        received=Range(4, 4),
        pledged_in=Range(5, 5),
        ordered=Range(20, 20),
        contract_received=Range(4, 4),
        pledged_out=Range(2, 3),
    )
    assert estimate.incoming == Range(5 + 16, 5 + 16)
    assert estimate.outgoing == Range(2, 3)
    assert estimate.projected == Range(14 + 21 - 3, 14 + 21 - 2)


def test_a_family_sums_its_members_flows_then_clamps_once():
    one = Flows(baseline=Range(5, 5), received=Range(1, 2))
    two = Flows(baseline=None, received=Range(3, 3))
    family = (one + two).estimate()
    assert family.on_hand == Range(6 + 3, UNBOUNDED)
    assert family.baseline is None


def test_a_loss_recorded_under_a_variant_lowers_the_family():
    # 191-195 received under the family's main system, 65 lost under a variant: the family
    # has at least 126, not 191-unknown (each member clamped at 0 would hide the loss).
    received = Flows(baseline=None, received=Range(191, 195))
    lost = Flows(baseline=None, expended=Range(65, 65))
    assert received.estimate().on_hand == Range(191, UNBOUNDED)
    assert lost.estimate().on_hand == Range(0, UNBOUNDED)
    family = (received + lost).estimate()
    assert family.on_hand == Range(126, UNBOUNDED)
    assert family.received == Range(191, 195) and family.expended == Range(65, 65)
    # with baselines on both members the family's top is known too, and a variant's loss
    # beyond everything the family had is flagged at the family level
    counted_one = Flows(baseline=Range(10, 10), received=Range(191, 195))
    counted_two = Flows(baseline=Range(0, 0), expended=Range(65, 65))
    assert (counted_one + counted_two).estimate().on_hand == Range(136, 140)
    too_many = Flows(baseline=Range(0, 0), expended=Range(300, 300))
    assert (counted_one + too_many).estimate().inconsistent


def _row(pk, kind, low, high, date, precision="day", end=None, **extra):
    earliest, latest = date_interval(date, precision if date else "unknown", end)
    return Movement(
        id=pk,
        kind=kind,
        quantity_low=low,
        quantity_high=high,
        date=date,
        date_earliest=earliest,
        date_latest=latest,
        **extra,
    )


TODAY = dt.date(2026, 12, 2)


def test_dates_are_intervals_of_days():
    assert date_interval(dt.date(2024, 5, 17), "day") == (dt.date(2024, 5, 17),) * 2
    assert date_interval(dt.date(2024, 2, 1), "month") == (
        dt.date(2024, 2, 1),
        dt.date(2024, 2, 29),
    )
    assert date_interval(dt.date(2024, 1, 1), "year") == (
        dt.date(2024, 1, 1),
        dt.date(2024, 12, 31),
    )
    assert date_interval(dt.date(2024, 5, 17), "on_or_before") == (None, dt.date(2024, 5, 17))
    assert date_interval(dt.date(2024, 5, 1), "between", dt.date(2024, 6, 3)) == (
        dt.date(2024, 5, 1),
        dt.date(2024, 6, 3),
    )
    assert date_interval(None, "unknown") == (None, None)


def test_losses_on_or_before_a_date_widen_the_range_instead_of_vanishing_under_a_baseline():
    # The example: a count of 0 on 2021-12-31, 71-75 received in dated rows, 15
    # losses recorded "on or before" dates in 2023-2024 (Oryx). Each loss may have happened
    # before the count (then it is in the count) or after it: 0..15 lost, on hand 56-75.
    rows = [
        _row(1, "baseline", 0, 0, dt.date(2021, 12, 31)),
        _row(2, "received", 40, 40, dt.date(2023, 2, 24)),
        _row(3, "received", 31, 35, dt.date(2023, 6, 1), "month"),
    ]
    rows += [
        _row(10 + n, "expended", 1, 1, dt.date(2023 + n % 2, 1 + n % 12, 5), "on_or_before")
        for n in range(15)
    ]
    estimate, evidence = estimate_from_rows(rows, TODAY, TODAY)
    assert estimate.received == Range(71, 75)
    assert estimate.expended == Range(0, 15)
    assert estimate.on_hand == Range(56, 75)
    assert estimate.on_hand != Range(71, 75)
    assert evidence["record_count"] == 18
    assert not estimate.inconsistent


def test_an_unknown_date_is_on_or_before_today_and_may_precede_a_baseline():
    rows = [
        _row(1, "baseline", 10, 10, dt.date(2023, 1, 1)),
        _row(2, "expended", 3, 3, None),
    ]
    # today it has surely happened, but maybe before the count: 0..3 lost
    assert estimate_from_rows(rows, TODAY, TODAY)[0].on_hand == Range(7, 10)
    # without a baseline it surely counts today, and maybe as of any past date
    loss = [_row(2, "received", 3, 3, None)]
    assert estimate_from_rows(loss, TODAY, TODAY)[0].received == Range(3, 3)
    assert estimate_from_rows(loss, dt.date(2020, 1, 1), TODAY)[0].received == Range(0, 3)


def test_a_movement_straddling_the_as_of_date_may_count():
    rows = [_row(1, "received", 12, 12, dt.date(2021, 1, 1), "year")]
    assert estimate_from_rows(rows, dt.date(2021, 6, 30), TODAY)[0].received == Range(0, 12)
    assert estimate_from_rows(rows, dt.date(2021, 12, 31), TODAY)[0].received == Range(12, 12)
    estimate, evidence = estimate_from_rows(rows, dt.date(2020, 12, 31), TODAY)
    assert evidence["record_count"] == 0 and estimate.received == Range(0, 0)
    between = [_row(1, "sent", 4, 4, dt.date(2022, 3, 1), "between", dt.date(2022, 5, 31))]
    assert estimate_from_rows(between, dt.date(2022, 4, 1), TODAY)[0].sent == Range(0, 4)
    assert estimate_from_rows(between, dt.date(2022, 6, 1), TODAY)[0].sent == Range(4, 4)


def test_the_latest_baseline_absorbs_what_moved_on_or_before_its_date():
    rows = [
        _row(1, "baseline", 50, 50, dt.date(2023, 1, 1)),
        _row(2, "received", 10, 10, dt.date(2023, 6, 1)),
        _row(3, "baseline", 70, 70, dt.date(2024, 1, 1)),  # a newer count: includes row 2
        _row(4, "expended", 5, 5, dt.date(2024, 1, 1)),  # same day: already in the count
        _row(5, "expended", 3, 3, dt.date(2024, 3, 1)),
        _row(6, "received", 1, UNBOUNDED, dt.date(2020, 1, 1), "on_or_before"),
    ]
    estimate, evidence = estimate_from_rows(rows, dt.date(2024, 12, 31), TODAY)
    assert estimate.baseline == Range(70, 70)
    assert estimate.on_hand == Range(67, 67)
    assert evidence["baseline_row"].id == 3
    # as of mid-2023 the first baseline applies and the delivery counts on top of it
    estimate, _ = estimate_from_rows(rows, dt.date(2023, 7, 1), TODAY)
    assert estimate.on_hand == Range(60, 60)


def test_rows_after_the_as_of_date_are_left_out_and_year_dates_may_count_from_january():
    rows = [
        _row(1, "received", 5, 5, dt.date(2022, 1, 1), "year"),
        _row(2, "received", 7, 7, dt.date(2025, 1, 1)),
    ]
    estimate, evidence = estimate_from_rows(rows, dt.date(2022, 1, 1), TODAY)
    assert estimate.received == Range(0, 5)  # "2022": maybe by 1 January, surely by 31 Dec
    assert evidence["record_count"] == 1


def test_evidence_is_the_best_and_weakest_grade_and_counts_unsourced_rows():
    rows = [
        _row(1, "received", 5, 5, None, grade="C3"),
        _row(2, "received", 5, 5, None, grade="A2"),
        _row(3, "received", 5, 5, None, grade=""),
    ]
    _, evidence = estimate_from_rows(rows, dt.date(2024, 1, 1), TODAY)
    assert (evidence["best_grade"], evidence["weakest_grade"]) == ("A2", "C3")
    assert evidence["unsourced_count"] == 1


PRECISIONS = ["day", "month", "year", "on_or_before", "between", "unknown"]
movements = st.lists(
    st.builds(
        lambda kind, low, extra, date, precision, days, contract, grade: (
            kind, low, extra, date, precision, days, contract, grade
        ),
        st.sampled_from(
            ["baseline", "received", "produced", "sent", "expended", "pledged_in",
             "pledged_out", "ordered"]
        ),
        st.integers(0, 30),
        st.one_of(st.none(), st.integers(0, 30)),
        st.dates(dt.date(2020, 1, 1), dt.date(2021, 12, 31)),
        st.sampled_from(PRECISIONS),
        st.integers(0, 200),
        st.booleans(),
        st.sampled_from(["", "A1", "B2", "C3", "F6"]),
    ),
    max_size=25,
)  # fmt: skip


def _movements(specs):
    rows = []
    for pk, (kind, low, extra, date, precision, days, contract, grade) in enumerate(specs, 1):
        rows.append(
            _row(pk, kind, low, None if extra is None else low + extra,
                 None if precision == "unknown" else date, precision,
                 date + dt.timedelta(days=days) if precision == "between" else None,
                 via_contract=contract, grade=grade)
        )  # fmt: skip
    return rows


@settings(max_examples=300, deadline=None)
@given(specs=movements, today=st.dates(dt.date(2021, 6, 1), dt.date(2022, 3, 1)))
def test_the_monthly_series_equals_the_estimate_at_each_month_end(specs, today):
    from stock.series import month_ends

    rows = _movements(specs)
    ends = month_ends(dt.date(2019, 11, 1), dt.date(2022, 2, 1))
    series = estimates_by_month(rows, ends, today)
    for end in ends:
        kept = [row for row in rows if row.date_earliest is None or row.date_earliest <= end]
        if not kept:
            assert end not in series
            continue
        assert series[end] == estimate_from_rows(rows, end, today), end


@settings(max_examples=150, deadline=None)
@given(one=movements, two=movements, today=st.dates(dt.date(2021, 6, 1), dt.date(2022, 3, 1)))
def test_the_family_series_equals_the_family_estimate_at_each_month_end(one, two, today):
    from stock.series import month_ends

    members = {1: _movements(one), 2: _movements(two)}
    ends = month_ends(dt.date(2019, 11, 1), dt.date(2022, 2, 1))
    series = family_by_month(members, ends, today)
    for end in ends:
        expected = family_from_rows(members, end, today)
        if expected[0] is None:
            assert end not in series
            continue
        assert series[end] == expected, end


@given(specs=movements)
def test_a_maybe_counted_movement_only_widens_the_range(specs):
    # Pinning each movement to its first or its last possible day (baselines kept as exact
    # counts) gives an on-hand range inside the honest one.
    rows = [
        row
        if row.kind != "baseline"
        else _row(row.id, "baseline", row.quantity_low, row.quantity_high, row.date or TODAY)
        for row in _movements(specs)
    ]
    as_of = dt.date(2021, 1, 1)
    honest, _ = estimate_from_rows(rows, as_of, TODAY)
    for pick in ("earliest", "latest"):
        pinned = []
        for r in rows:
            day = (
                (r.date_earliest or dt.date(2000, 1, 1))
                if pick == "earliest"
                else (r.date_latest or TODAY)
            )
            if r.kind == "baseline":
                pinned.append(r)
                continue
            pinned.append(
                Movement(
                    id=r.id, kind=r.kind, quantity_low=r.quantity_low,
                    quantity_high=r.quantity_high, date=r.date, via_contract=r.via_contract,
                    grade=r.grade, date_earliest=day, date_latest=day,
                )
            )  # fmt: skip
        sharp, _ = estimate_from_rows(pinned, as_of, TODAY)
        assert honest.on_hand.low <= sharp.on_hand.low
        if honest.on_hand.high is not None:
            assert sharp.on_hand.high is not None and sharp.on_hand.high <= honest.on_hand.high
