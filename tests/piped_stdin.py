"""A standard input that is a pipe, not a terminal: what `ask` reads one question a line from."""

from __future__ import annotations

from collections.abc import Iterator


class Lines:
    """A stdin stand-in that is not a terminal."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)

    def isatty(self) -> bool:
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(self._lines)
