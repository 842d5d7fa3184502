"""Text on its way to a terminal or a log, with control characters shown instead of obeyed.

Questions, article text, titles and file names come from people and files the operator does not
control. Written raw, `ESC c` resets the operator's terminal and other escape codes recolour, retitle
or rewrite what it shows, and a bidi override reverses a log line. Every such character except the
newline and the tab is written as its `\\uXXXX` escape, which also keeps JSON output valid JSON.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

# C0 controls but tab and newline, DEL and the C1 controls, and the bidi embeddings, overrides and isolates.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def shown(text: str) -> str:
    """`text` with each control character written as its escape (`ESC` as `\\u001b`)."""
    return _CONTROLS.sub(lambda match: f"\\u{ord(match.group()):04x}", text)


class ShownStream:
    """A text stream that writes everything through `shown`; any other use goes to the stream it wraps."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self.stream.write(shown(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
