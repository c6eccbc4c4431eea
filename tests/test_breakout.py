"""The breakout state machine on hand-built close series: every transition and every edge."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from fakes.scripted_source import daily_series

from services.breakout import BreakoutRules, BreakoutState, assess, run_machine
from services.engine import etf_ratio

IN, T, B, C, F = (
    BreakoutState.INSIDE,
    BreakoutState.TESTING,
    BreakoutState.BREAKOUT,
    BreakoutState.CONFIRMED,
    BreakoutState.FAILED,
)


def states(closes: list[float], rules: BreakoutRules | None = None) -> list[BreakoutState]:
    from services.breakout import BreakoutMachine

    m = BreakoutMachine(rules or BreakoutRules())
    return [m.step(c) for c in closes]


def test_band_edges_and_equal_to_level() -> None:
    # The testing band starts exactly at level x 0.99 = 2539.35; a close equal to the level is a breakout.
    assert states([2539.34]) == [IN]
    assert states([2539.35]) == [T]
    assert states([2564.99]) == [T]
    assert states([2565.0]) == [B]


def test_confirmation_needs_consecutive_closes_at_or_above_the_level() -> None:
    assert states([2500, 2565, 2565, 2565, 2570]) == [IN, B, B, C, C]
    # a dip below the level before the third close is a failure, and the run starts again after it
    assert states([2565, 2570, 2560, 2566, 2567, 2568]) == [B, B, F, B, B, C]


def test_gap_from_inside_straight_into_a_confirmed_run() -> None:
    assert states([2300, 2700, 2710, 2720]) == [IN, B, B, C]


def test_failure_after_confirmation_is_sticky_until_a_close_at_the_level() -> None:
    closes = [2570, 2575, 2580, 2590, 2564, 2400, 2000, 2550, 2565]
    assert states(closes) == [B, B, C, C, F, F, F, F, B]


def test_fail_buffer_holds_the_state_inside_the_buffer() -> None:
    rules = BreakoutRules(fail_buffer_pct=1.0)  # fails only below 2565 x 0.99 = 2539.35
    assert states([2570, 2571, 2550, 2572, 2539.34], rules) == [B, B, B, C, F]


def test_confirm_closes_of_one_confirms_at_once() -> None:
    assert states([2500, 2566], BreakoutRules(confirm_closes=1)) == [IN, C]


def test_run_machine_reports_each_change_with_its_day() -> None:
    days = [date(2026, 3, 2) + timedelta(days=i) for i in range(6)]
    machine, changes = run_machine(days, [2400, 2550, 2565, 2566, 2567, 2500], BreakoutRules())
    assert [(c.day.day, c.from_state, c.to_state) for c in changes] == [
        (2, None, IN),
        (3, IN, T),
        (4, T, B),
        (6, B, C),
        (7, C, F),
    ]
    assert machine.state is F and machine.closes_above == 0


def test_assess_distance_targets_and_provisional_state() -> None:
    series = daily_series("^RUT", [2500.0, 2550.0, 2560.0, 2580.0], date(2026, 11, 24))
    # Today's bar (2580) is still in progress: the recorded state comes from the closes before it.
    a = assess(series, BreakoutRules(), live_price=2580.0, provisional=True)
    assert a.state is T and a.close == 2560.0 and a.close_day == date(2026, 11, 23)
    assert a.provisional_state is B
    assert a.distance_points == pytest.approx(15.0)
    assert a.distance_pct == pytest.approx((2580 / 2565 - 1) * 100)
    assert a.close_distance_pct == pytest.approx((2560 / 2565 - 1) * 100)
    (t1, t2) = a.target_distances()
    assert (t1.target, t1.points) == (2600.0, pytest.approx(20.0))
    assert t2.pct == pytest.approx((3000 / 2580 - 1) * 100)
    # After the close, the same bar is recorded and there is no intraday state.
    done = assess(series, BreakoutRules(), live_price=2580.0, provisional=False)
    assert done.state is B and done.provisional_state is None and done.live_price is None
    assert done.closes_above == 1 and done.state_since == date(2026, 11, 24) and done.sessions_in_state == 1


def test_assess_empty_series_has_no_state() -> None:
    from services.models import BarSeries, Interval

    a = assess(BarSeries("^RUT", Interval.DAILY), BreakoutRules())
    assert a.state is None and a.close is None and a.distance_pct is None and a.target_distances() == ()


def test_proxy_ratio_uses_the_latest_common_close() -> None:
    rut = daily_series("^RUT", [2000.0, 2500.0], date(2026, 11, 24))
    iwm = daily_series("IWM", [198.0, 247.5, 250.0], date(2026, 11, 25))
    found = etf_ratio(rut, iwm)
    assert found is not None and found[0] == pytest.approx(247.5 / 2500.0)
