"""Progress of a long build: a bar in a terminal, a line every few seconds anywhere else.

A first build with vectors can take minutes. Under systemd, Docker or a pipe, stderr is not a
terminal and a bar's carriage returns make one endless line, so the build printed nothing at all
and looked hung. There, a line says every LINE_EVERY_S seconds what is done, how fast, and about
how long is left: a log an operator can read and a service manager can keep.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from bot.search.engine import Progress

# Often enough that a stalled build shows within seconds, rarely enough that an hour-long one
# writes about 700 lines, not one per batch.
LINE_EVERY_S = 5.0
BAR_WIDTH = 30


def progress_to(out: TextIO, clock: Callable[[], float] = time.monotonic) -> Progress:
    """A bar when `out` is a terminal, else timed lines (see `Lines`)."""
    return bar(out) if out.isatty() else Lines(lambda line: print(line, file=out, flush=True), clock)


def bar(out: TextIO) -> Progress:
    """A one-line bar, redrawn in place, ending its line when the step is done."""

    def report(what: str, done: int, total: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        end = "\n" if done >= total else ""
        print(f"\r{what} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {done:,}/{total:,}", end=end, file=out, flush=True)

    return report


class Lines:
    """Calls `write` with a line at a step's start, every LINE_EVERY_S seconds, and at its end.

    The rate and time left are from the step's own start, so a new step (splitting, then
    embedding) starts its own reckoning.
    """

    def __init__(self, write: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self._write = write
        self._clock = clock
        self._step = ""
        self._started = 0.0
        self._last = 0.0

    def __call__(self, what: str, done: int, total: int) -> None:
        now = self._clock()
        if what != self._step:
            self._step, self._started, self._last = what, now, now
            self._write(f"{what}: {done:,}/{total:,}")
            if done < total:
                return
        if done < total and now - self._last < LINE_EVERY_S:
            return
        self._last = now
        self._write(self._line(what, done, total, now - self._started))

    @staticmethod
    def _line(what: str, done: int, total: int, elapsed: float) -> str:
        share = f"{done:,}/{total:,} ({100 * done // max(total, 1)}%)"
        if done >= total:
            return f"{what}: {share}, done in {_duration(elapsed)}"
        if done == 0 or elapsed <= 0:
            return f"{what}: {share}"
        rate = done / elapsed
        return f"{what}: {share}, {rate:,.0f}/s, about {_duration((total - done) / rate)} left"


def _duration(seconds: float) -> str:
    """`42 s`, `3 min 5 s` or `2 h 7 min`: what a reader of a log wants at a glance."""
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        return f"{whole // 60} min {whole % 60} s"
    return f"{whole // 3600} h {whole % 3600 // 60} min"
