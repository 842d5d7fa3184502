"""How the bot is doing since it started, for `/stats`: counters and recent latencies in bounded memory.

Counts are plain integers; latencies keep only the last LATENCY_WINDOW questions, so memory stays
the same after a million questions and the percentiles describe the bot as it is now, not at start.
Each process keeps its own (one process may run some shards of a sharded bot).
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

LATENCY_WINDOW = 1000


@dataclass(frozen=True)
class Snapshot:
    """The counters at one moment."""

    answered: int  # questions asked on purpose that got an answer
    abstained: int  # questions asked on purpose that got "I couldn't find that"
    unanswered_chatter: int  # answer-channel messages with no answer, left without a reply
    latencies_ms: tuple[float, ...]  # the most recent questions' reply times, oldest first
    uptime_s: float

    @property
    def asked(self) -> int:
        return self.answered + self.abstained

    @property
    def abstention_rate(self) -> float | None:
        return self.abstained / self.asked if self.asked else None

    def latency_ms(self, percent: int) -> float | None:
        """The `percent`-th percentile of the recent reply times; None before any question."""
        if not self.latencies_ms:
            return None
        if len(self.latencies_ms) == 1:
            return self.latencies_ms[0]
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[percent - 1]


class Stats:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._started = clock()
        self._answered = 0
        self._abstained = 0
        self._chatter = 0
        self._latencies: deque[float] = deque(maxlen=LATENCY_WINDOW)

    def record(self, *, abstained: bool, latency_ms: float) -> None:
        """A question someone asked on purpose, and how long its reply took."""
        if abstained:
            self._abstained += 1
        else:
            self._answered += 1
        self._latencies.append(latency_ms)

    def record_chatter(self) -> None:
        """An answer-channel message that the articles do not answer: left alone, not counted as a question."""
        self._chatter += 1

    def snapshot(self) -> Snapshot:
        return Snapshot(
            self._answered, self._abstained, self._chatter, tuple(self._latencies), self._clock() - self._started
        )
