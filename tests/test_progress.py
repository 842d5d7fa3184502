"""Progress of a long build: a bar in a terminal, and elsewhere (a service, a pipe) a line every few seconds
with the count, the rate and the time left. The clock is the test's, so no test waits."""

from __future__ import annotations

import io

import pytest

from bot.progress import LINE_EVERY_S, Lines, progress_to


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_line_at_the_start_then_one_every_few_seconds_with_rate_and_time_left(clock: Clock) -> None:
    lines: list[str] = []
    report = Lines(lines.append, clock)
    report("embedding sentences", 0, 10_000)
    for done in range(100, 1100, 100):  # 100 sentences a second
        clock.now += 1
        report("embedding sentences", done, 10_000)
    assert lines == [
        "embedding sentences: 0/10,000",
        "embedding sentences: 500/10,000 (5%), 100/s, about 1 min 35 s left",
        "embedding sentences: 1,000/10,000 (10%), 100/s, about 1 min 30 s left",
    ]


def test_the_end_of_a_step_is_always_written_with_its_duration(clock: Clock) -> None:
    lines: list[str] = []
    report = Lines(lines.append, clock)
    report("splitting articles", 0, 3)
    clock.now += 1.5
    report("splitting articles", 3, 3)  # within LINE_EVERY_S of the start, but the end
    assert lines == ["splitting articles: 0/3", "splitting articles: 3/3 (100%), done in 2 s"]


def test_each_step_has_its_own_rate_and_start_line(clock: Clock) -> None:
    lines: list[str] = []
    report = Lines(lines.append, clock)
    report("splitting articles", 0, 10)
    clock.now += 100
    report("splitting articles", 10, 10)
    report("embedding sentences", 0, 600)
    clock.now += LINE_EVERY_S
    report("embedding sentences", 60, 600)  # 12/s from the step's own start, not the split's
    assert lines[-2:] == ["embedding sentences: 0/600", "embedding sentences: 60/600 (10%), 12/s, about 45 s left"]


def test_nothing_between_the_lines_however_many_batches(clock: Clock) -> None:
    lines: list[str] = []
    report = Lines(lines.append, clock)
    report("embedding sentences", 0, 100_000)
    for done in range(1, 6001):
        clock.now += 0.001  # 6 s of batches in all, each a millisecond apart
        report("embedding sentences", done, 100_000)
    assert len(lines) == 1 + 1  # the start, and the one line once LINE_EVERY_S had passed


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_pipe_gets_lines_and_a_terminal_gets_a_bar(clock: Clock) -> None:
    pipe, terminal = Pipe(), Terminal()
    for out in (pipe, terminal):
        report = progress_to(out, clock)
        report("embedding sentences", 0, 4)
        report("embedding sentences", 4, 4)
    assert pipe.getvalue().splitlines() == ["embedding sentences: 0/4", "embedding sentences: 4/4 (100%), done in 0 s"]
    assert "\r" not in pipe.getvalue()
    assert terminal.getvalue().endswith("\rembedding sentences [##############################] 4/4\n")
