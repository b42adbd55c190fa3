"""The estimate arithmetic (stock.estimates): the documented rules, one by one."""

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from stock.estimates import (
    Movement,
    Range,
    compute_estimate,
    counted,
    estimate_from_rows,
    estimate_sum,
    estimates_by_month,
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


def test_a_family_is_the_sum_of_its_systems():
    one = compute_estimate(baseline=Range(5, 5), received=Range(1, 2))
    two = compute_estimate(baseline=None, received=Range(3, 3))
    family = estimate_sum([one, two])
    assert family.on_hand == Range(6 + 3, UNBOUNDED)
    assert family.baseline is None


def _row(pk, kind, low, high, date, **extra):
    return Movement(id=pk, kind=kind, quantity_low=low, quantity_high=high, date=date, **extra)


def test_the_latest_baseline_absorbs_what_moved_on_or_before_its_date():
    rows = [
        _row(1, "baseline", 50, 50, dt.date(2023, 1, 1)),
        _row(2, "received", 10, 10, dt.date(2023, 6, 1)),
        _row(3, "baseline", 70, 70, dt.date(2024, 1, 1)),  # a newer count: includes row 2
        _row(4, "expended", 5, 5, dt.date(2024, 1, 1)),  # same day: already in the count
        _row(5, "expended", 3, 3, dt.date(2024, 3, 1)),
        _row(6, "received", 1, UNBOUNDED, None),  # unknown date: before any dated baseline
    ]
    estimate, evidence = estimate_from_rows(rows, dt.date(2024, 12, 31))
    assert estimate.baseline == Range(70, 70)
    assert estimate.on_hand == Range(67, 67)
    assert evidence["baseline_row"].id == 3
    # as of mid-2023 the first baseline applies and the delivery counts on top of it
    estimate, _ = estimate_from_rows(rows, dt.date(2023, 7, 1))
    assert estimate.on_hand == Range(60, 60)


def test_rows_after_the_as_of_date_are_left_out_and_year_dates_count_from_january():
    rows = [
        _row(1, "received", 5, 5, dt.date(2022, 1, 1)),  # "2022", year precision
        _row(2, "received", 7, 7, dt.date(2025, 1, 1)),
    ]
    estimate, evidence = estimate_from_rows(rows, dt.date(2022, 1, 1))
    assert estimate.received == Range(5, 5)
    assert evidence["record_count"] == 1


def test_evidence_is_the_best_and_weakest_grade_and_counts_unsourced_rows():
    rows = [
        _row(1, "received", 5, 5, None, grade="C3"),
        _row(2, "received", 5, 5, None, grade="A2"),
        _row(3, "received", 5, 5, None, grade=""),
    ]
    _, evidence = estimate_from_rows(rows, dt.date(2024, 1, 1))
    assert (evidence["best_grade"], evidence["weakest_grade"]) == ("A2", "C3")
    assert evidence["unsourced_count"] == 1


movements = st.lists(
    st.builds(
        lambda kind, low, extra, date, contract, grade: (kind, low, extra, date, contract, grade),
        st.sampled_from(
            ["baseline", "received", "produced", "sent", "expended", "pledged_in",
             "pledged_out", "ordered"]
        ),
        st.integers(0, 30),
        st.one_of(st.none(), st.integers(0, 30)),
        st.one_of(st.none(), st.dates(dt.date(2020, 1, 1), dt.date(2021, 12, 31))),
        st.booleans(),
        st.sampled_from(["", "A1", "B2", "C3", "F6"]),
    ),
    max_size=25,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(specs=movements)
def test_the_one_pass_monthly_series_equals_the_estimate_at_each_month_end(specs):
    from stock.series import month_ends

    rows = [
        _row(pk, kind, low, None if extra is None else low + extra, date,
             via_contract=contract, grade=grade)
        for pk, (kind, low, extra, date, contract, grade) in enumerate(specs, start=1)
    ]  # fmt: skip
    ends = month_ends(dt.date(2019, 11, 1), dt.date(2022, 2, 1))
    series = estimates_by_month(rows, ends)
    for end in ends:
        kept = [row for row in rows if row.date is None or row.date <= end]
        if not kept:
            assert end not in series
            continue
        assert series[end] == estimate_from_rows(rows, end), end
