"""How late a newcomer's answer would be, from how long recent searches took.

A bound on the number of questions waiting keeps memory bounded, but not lateness: a flood of
hard questions (the reranker, a big corpus) made answers up to 128 s late under a 2,000-question
bound. So the bot also estimates the wait: an exponentially weighted mean of recent search times,
times the rounds of searches ahead of a newcomer. Searches run in asyncio's default thread pool,
and a search's own time already grows when the threads share the CPU, so dividing the queue by
the pool's size gives the rounds whether the searches really run in parallel or take turns.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
T = TypeVar("T")

# The pool asyncio.to_thread runs searches in: ThreadPoolExecutor's default size (Python 3.8+).
SEARCH_THREADS = min(32, (os.cpu_count() or 1) + 4)
# Each search's weight in the mean: about the last ten searches count, so a flood of slow
# questions shows within a second or two of them, and one slow question alone does not refuse anyone.
WEIGHT = 0.2


class SearchTimes:
    """The mean search time so far (None before the first search), and the delay it predicts for a newcomer."""

    def __init__(self, threads: int = SEARCH_THREADS, clock: Callable[[], float] = time.monotonic) -> None:
        self._threads = threads
        self._clock = clock
        self._lock = threading.Lock()  # searches finish in several worker threads at once
        self.mean_s: float | None = None

    def timed(self, search: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`search(*args, **kwargs)`, its time added to the mean (in the worker thread that runs it)."""
        started = self._clock()
        try:
            return search(*args, **kwargs)
        finally:
            self._add(self._clock() - started)

    def delay_s(self, waiting: int) -> float:
        """Seconds until a newcomer would be answered, with `waiting` questions ahead of it (0 before any search)."""
        return 0.0 if self.mean_s is None else self.mean_s * (waiting // self._threads + 1)

    def _add(self, seconds: float) -> None:
        with self._lock:
            self.mean_s = seconds if self.mean_s is None else (1 - WEIGHT) * self.mean_s + WEIGHT * seconds
