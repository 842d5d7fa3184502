"""An article's text as lines, decoded and normalised a block at a time.

A file up to the size limit is never held decoded as one string: a mostly ASCII text with one
emoji in it takes four bytes a character as a Python string (200 MB for a 50 MB file), and each
whole-text step (normalising, replacing line breaks, splitting) would copy it again. Instead each
pass over the text decodes its bytes again, 64 KB at a time, and yields one line at a time.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from collections.abc import Iterable, Iterator

BLOCK_BYTES = 1 << 16
_BREAK_CHARS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
# Line breaks as str.splitlines knows them (form feeds, vertical tabs, U+2028 and U+2029 too) end a
# line, "\r\n" as one.
_LINE_BREAKS = re.compile("\r\n|[\r\v\f\x1c-\x1e\x85\u2028\u2029]")


class TextError(ValueError):
    """The bytes are not text in the encoding read; `offset` is the first bad byte's."""

    def __init__(self, offset: int) -> None:
        super().__init__(f"bad byte at offset {offset}")
        self.offset = offset


def decoded(data: bytes | memoryview, encoding: str = "utf-8-sig") -> Iterator[str]:
    """The bytes as text, a block at a time; TextError at the first byte that does not decode."""
    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    for start in range(0, len(view) + 1, BLOCK_BYTES):
        buffered = len(decoder.getstate()[0])  # bytes of a character cut by the previous block
        try:
            block = decoder.decode(view[start : start + BLOCK_BYTES], final=start + BLOCK_BYTES > len(view))
        except UnicodeDecodeError as error:
            raise TextError(start - buffered + error.start) from None
        if block:
            yield block


def split_at_newlines(blocks: Iterable[str]) -> Iterator[str]:
    """The text cut at "\\n" only, as `str.split("\\n")` cuts it (so a text ending in "\\n" ends with "")."""
    parts: list[str] = []
    for block in blocks:
        lines = block.split("\n")
        if len(lines) == 1:
            parts.append(block)  # no line end yet: keep the pieces, joining them once at the end
            continue
        yield "".join([*parts, lines[0]])
        yield from lines[1:-1]
        parts = [lines[-1]]
    yield "".join(parts)


def text_lines(blocks: Iterable[str]) -> Iterator[str]:
    """The lines cleaning reads: NFC, every line break a "\\n", and a run of blank lines as one blank line.

    The same lines as `_LINE_BREAKS.sub("\\n", normalize("NFC", text))` with every run of blank lines
    after the first line and before the last made one (the regular expression `\\n([^\\S\\n]*\\n)+`),
    split at "\\n". Blocks are cut only after a line break, and line breaks are inert in NFC, so
    normalising block by block is normalising the whole.
    """
    number = 0
    in_run = False
    tail = ""
    for segment in _at_line_breaks(blocks):
        lines = _LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", segment)).split("\n")
        tail = lines.pop()  # "" unless the text ends here without a line break
        for line in lines:
            if number and (not line or line.isspace()):
                if not in_run:
                    yield ""
                in_run = True
            else:
                in_run = False
                yield line
            number += 1
    yield tail


def _at_line_breaks(blocks: Iterable[str]) -> Iterator[str]:
    """The text again, in pieces that each end with a line break (but the last); a "\\r" that may
    begin a "\\r\\n" waits for the next block."""
    parts: list[str] = []
    for block in blocks:
        end = _last_break(block, len(block))
        if end >= 0 and block[end] == "\r" and end == len(block) - 1:
            end = _last_break(block, end)
        if end < 0:
            parts.append(block)
            continue
        yield "".join([*parts, block[: end + 1]])
        parts = [block[end + 1 :]]
    yield "".join(parts)


def _last_break(block: str, before: int) -> int:
    return max(block.rfind(char, 0, before) for char in _BREAK_CHARS)


def str_blocks(text: str, size: int = BLOCK_BYTES) -> Iterator[str]:
    """A string already in memory (a web page's extracted text), in blocks of `size` characters."""
    for start in range(0, len(text), size):
        yield text[start : start + size]
