"""How late a newcomer's answer would be, from how long recent searches and replies took.

A bound on the number of questions waiting keeps memory bounded, but not lateness: a flood of
hard questions (the reranker, a big corpus) made answers up to 128 s late under a 2,000-question
bound. So the bot also estimates the wait: an exponentially weighted mean of recent search times,
times the rounds of searches ahead of a newcomer, plus the mean time from a search's start to its
reply being sent. At most SEARCH_THREADS searches run at once, and a search's own time already
grows when they share the CPU, so dividing the queue by SEARCH_THREADS gives the rounds whether
the searches really run in parallel or take turns. The reply's part is small on a calm bot but
not in a flood: the event loop then also receives every question and refuses most of them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from bot.search.models.embedding import cores

P = ParamSpec("P")
T = TypeVar("T")

# Searches run at once: one per core, and two on one core so that one slow search does not hold up every
# other. More only take turns for the CPU and for Python's lock with the event loop, which then receives
# questions and sends answers late. `bench/discord_load.py --soak 13800 --rate 230`, 2 busy cores: with
# asyncio's default pool (cores + 4, 6 here) answers came up to 59 s late under the 30 s bound and come-back
# replies up to 92 s; two threads handed each question by the event loop (a semaphore), the reply time
# counted, up to 56 s; two threads taking the next question themselves and looking again as they take it
# (Ask._timed_search), up to 30.0 s. Each change alone was not measured.
SEARCH_THREADS = max(2, cores())
# Each search's weight in the mean: about the last ten searches count, so a flood of slow
# questions shows within a second or two of them, and one slow question alone does not refuse anyone.
WEIGHT = 0.2
# Mean deviations a search and its reply may take beyond their mean (TCP's 4). With the mean alone, the check
# as a search starts let answers out up to 30.01 s late under a 30 s bound (bench/discord_load.py --soak 13800
# --rate 230); with 4 deviations of the search alone (the reply's mean beside them), up to 30.02 s.
DEVIATIONS = 4


class SearchTimes:
    """Means of recent search times (None before the first) and of the time from a search's start to its reply
    sent, and the delays they predict."""

    def __init__(self, threads: int = SEARCH_THREADS, clock: Callable[[], float] = time.monotonic) -> None:
        self._threads = threads
        self._clock = clock
        self._lock = threading.Lock()  # searches finish in several worker threads at once
        self.mean_s: float | None = None
        self.answer_s: float | None = None  # from a search's start to its reply sent
        self.deviation_s = 0.0  # mean distance of one answer's time from answer_s

    def timed(self, search: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`search(*args, **kwargs)`, its time added to the mean (in the worker thread that runs it)."""
        started = self._clock()
        try:
            return search(*args, **kwargs)
        finally:
            seconds = self._clock() - started
            with self._lock:
                self.mean_s = _moved(self.mean_s, seconds)

    def now(self) -> float:
        """The clock's reading: when a search starts, for `replied`."""
        return self._clock()

    def replied(self, started: float) -> None:
        """The reply to a search that started at `started` (a `now()` reading) was sent (called on the event loop)."""
        seconds = self._clock() - started
        if self.answer_s is not None:
            self.deviation_s = (1 - WEIGHT) * self.deviation_s + WEIGHT * abs(seconds - self.answer_s)
        self.answer_s = _moved(self.answer_s, seconds)

    def delay_s(self, waiting: int) -> float:
        """Seconds until a newcomer would be answered, with `waiting` questions ahead of it (0 before any search):
        the rounds of searches ahead, then its own search and reply."""
        if self.mean_s is None:
            return 0.0
        own = self.mean_s if self.answer_s is None else self.answer_s
        return self.mean_s * (waiting // self._threads) + own

    def longest_s(self) -> float:
        """How long a search and its reply may take: their mean and DEVIATIONS mean deviations (before any reply,
        the mean search; 0 before any search). TCP bounds a round trip the same way (RFC 6298), for the same
        reason: most take about the mean, a few far longer."""
        if self.answer_s is None:
            return self.mean_s or 0.0
        return self.answer_s + DEVIATIONS * self.deviation_s


def _moved(mean: float | None, seconds: float) -> float:
    """The weighted mean with one more reading (the reading itself when there was none)."""
    return seconds if mean is None else (1 - WEIGHT) * mean + WEIGHT * seconds
