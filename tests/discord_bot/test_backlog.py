"""The estimate of how late a newcomer's answer would be: recent search times × rounds of searches ahead.

The clock is a list of readings the test hands out, so every search "takes" exactly what the test says.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.discord_bot.backlog import DEVIATIONS, WEIGHT, SearchTimes


def clock_of(*readings: float) -> Callable[[], float]:
    """A clock that returns these readings in turn (each search reads it twice: before and after)."""
    it = iter(readings)
    return lambda: next(it)


def test_before_any_search_nothing_is_late() -> None:
    assert SearchTimes(threads=1, clock=clock_of()).delay_s(waiting=500) == 0.0


def test_the_first_search_sets_the_mean_and_later_ones_move_it_by_their_weight() -> None:
    times = SearchTimes(threads=1, clock=clock_of(0.0, 2.0, 10.0, 14.0))
    assert times.timed(str.upper, "a") == "A"  # the search's own result comes back
    assert times.mean_s == pytest.approx(2.0)
    times.timed(str.upper, "b")  # took 4 s
    assert times.mean_s == pytest.approx((1 - WEIGHT) * 2.0 + WEIGHT * 4.0)


def test_a_search_that_fails_still_counts_its_time() -> None:
    times = SearchTimes(threads=1, clock=clock_of(0.0, 3.0))
    with pytest.raises(ZeroDivisionError):
        times.timed(lambda: 1 / 0)
    assert times.mean_s == pytest.approx(3.0)


@pytest.mark.parametrize(
    "threads, waiting, rounds",
    [
        (1, 0, 1),  # nobody ahead: its own search
        (1, 3, 4),  # one at a time: three searches, then its own
        (4, 3, 1),  # four threads: the three ahead run beside it
        (4, 4, 2),
        (4, 9, 3),
    ],
)
def test_the_delay_is_the_mean_search_time_times_the_rounds_of_searches_ahead(threads: int, waiting: int, rounds: int) -> None:
    times = SearchTimes(threads=threads, clock=clock_of(0.0, 5.0))
    times.timed(str, "")
    assert times.delay_s(waiting) == pytest.approx(5.0 * rounds)


def test_once_replies_are_sent_a_newcomer_s_own_part_is_its_search_and_reply() -> None:
    """In a flood the event loop that sends replies is busy receiving and refusing questions: replies went
    out late, after the estimate, until their own time was counted."""
    times = SearchTimes(threads=1, clock=clock_of(0.0, 5.0, 100.0, 115.0))
    times.timed(str, "")  # the search took 5 s
    times.replied(times.now())  # started at 100, replied at 115: 15 s from search to reply
    assert times.answer_s == pytest.approx(15.0)
    assert times.delay_s(waiting=1) == pytest.approx(5.0 * 1 + 15.0)


def test_the_longest_a_search_and_its_reply_may_take_is_their_mean_and_four_mean_deviations() -> None:
    times = SearchTimes(threads=1, clock=clock_of(0.0, 2.0, 10.0, 12.0, 20.0, 24.0))
    assert times.longest_s() == 0.0  # nothing measured yet
    times.timed(str, "")  # 2 s
    assert times.longest_s() == pytest.approx(2.0)  # no reply yet: the search alone
    times.replied(times.now())  # 2 s from start to reply
    assert times.longest_s() == pytest.approx(2.0)  # one reading: no deviation yet
    times.replied(times.now())  # 4 s: 2 s from the mean
    mean, deviation = (1 - WEIGHT) * 2.0 + WEIGHT * 4.0, WEIGHT * 2.0
    assert times.longest_s() == pytest.approx(mean + DEVIATIONS * deviation)
