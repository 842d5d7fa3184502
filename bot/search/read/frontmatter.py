"""YAML front matter at the top of a Markdown article: the small part of YAML that carries metadata.

Read: a block that opens with a first line `---` and closes with the next `---` (or `...`) line,
made of `key: value` lines. A value is plain text, 'single-' or "double-quoted" text, or a list of
those (`[a, b]`, or `- a` lines under the key), which is joined with ", ". Only the keys asked for
are read (a plural key, `authors:`, counts for its singular); the others are skipped unread,
whatever their shape.

Why not a YAML library: a full parser turns `title: no` into False, `title: 1984` into a number and
`date: 2024-05-14` into a date object; here every value stays the text its author wrote, and a
value of a shape this module does not read is a note, never an exception.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice

_FENCE = "---"
_CLOSERS = ("---", "...")
# Every pattern here is linear in the line: a value is taken whole and stripped in Python, and no
# pattern scans a run of whitespace from each of its characters (a 1 MB run of spaces in a value
# once took longer than the bot could wait). `(?<!\s)` makes a search start only where a run begins.
_KEY = re.compile(r"^([A-Za-z_][\w-]*)\s*:(?:(?=\s)(.*))?$")
_ITEM = re.compile(r"^\s*-(?=\s)(.*)$")
_DOUBLE = re.compile(r'^"([^"\\]*(?:\\.[^"\\]*)*)"\s*(?:#.*)?$')
_SINGLE = re.compile(r"^'([^']*(?:''[^']*)*)'\s*(?:#.*)?$")
_FLOW_ITEM = re.compile(r'(?<!\s)\s*(?:"[^"\\]*(?:\\.[^"\\]*)*"|\'[^\']*(?:\'\'[^\']*)*\'|[^,]+)')
_COMMENT = re.compile(r"(?<!\s)\s+#.*$")


@dataclass
class FrontMatter:
    """The keys found with their values as text, the number of lines before the article text, and notes on what was skipped."""

    fields: dict[str, str] = field(default_factory=dict)
    body_line: int = 0
    notes: list[str] = field(default_factory=list)


def split_front_matter(lines: Callable[[], Iterator[str]], keys: Collection[str]) -> FrontMatter:
    """Find the front matter at the top of a text's lines and read `keys` from it; the article text
    starts at line `body_line` (0 for a text without a block).

    `lines` gives the text's lines (cut at "\\n") from the start at each call: the block is read
    in passes over them, so a text that opens with `---` and never closes is not held in memory.
    A block that opens but never closes is no front matter: the whole text is the article, with a note.
    A `---` block with no `key: value` line in it is a horizontal rule, not front matter.
    """
    first = next(lines(), "")
    if first.strip() != _FENCE:
        return FrontMatter()
    end = next((i for i, line in enumerate(lines()) if i and line.rstrip() in _CLOSERS), None)
    if end is None:
        return FrontMatter(notes=["front matter opened with '---' on line 1 never closes with '---'; read as text"])
    if not any(_KEY.match(line) for line in islice(lines(), 1, end)):
        return FrontMatter()
    found = FrontMatter(body_line=end + 1)
    _read_block(islice(lines(), 1, end), frozenset(keys), found)
    return found


def _read_block(block: Iterable[str], keys: frozenset[str], found: FrontMatter) -> None:
    key: str | None = None  # the field being read: list items or continuation lines may follow
    items: list[str] = []
    listed = False

    def finish() -> None:
        if key is not None and items:
            found.fields[key] = ", ".join(items)

    for number, line in enumerate(block, start=2):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = _ITEM.match(line)
        if item or line[0].isspace():
            if key is None:
                continue  # part of a key that is not a field, or of one already given up on
            fits = (listed or not items) if item else (bool(items) and not listed)
            value = _scalar(item[1].strip() if item else line.strip())
            if value is None or not fits:
                found.notes.append(f"front matter line {number}: {key} is not plain text or a list of it; ignored")
                key, items = None, []
            elif item:
                items.append(value)
                listed = True
            else:
                items[-1:] = [" ".join([*items[-1:], value])]  # a plain value continued on the next line
            continue
        finish()
        key, items, listed = None, [], False
        match = _KEY.match(line)
        if match is None:
            found.notes.append(f"front matter line {number} is not 'key: value'; ignored")
            continue
        name = match[1].lower()
        if name not in keys and name.endswith("s") and name[:-1] in keys:
            name = name[:-1]
        if name not in keys:
            continue
        raw = (match[2] or "").strip()
        value = _flow_list(raw) if raw.startswith("[") else _scalar(raw) if raw else ""
        if value is None:
            found.notes.append(f"front matter line {number}: {name} is not plain text or a list of it; ignored")
            continue
        key, items = name, [value] if value else []
    finish()


def _scalar(raw: str) -> str | None:
    """A plain or quoted value as text; None for shapes not read here (block scalars, maps, anchors, tags)."""
    if match := _DOUBLE.match(raw):
        try:
            return str(json.loads(f'"{match[1]}"')).strip()
        except json.JSONDecodeError:
            return None
    if match := _SINGLE.match(raw):
        return match[1].replace("''", "'").strip()
    if raw[:1] in ("|", ">", "{", "[", "&", "*", "!", '"', "'"):
        return None
    return _COMMENT.sub("", raw).strip()


def _flow_list(raw: str) -> str | None:
    body = _COMMENT.sub("", raw).strip()
    if not body.endswith("]"):
        return None
    values = [_scalar(item.strip()) for item in _FLOW_ITEM.findall(body[1:-1]) if item.strip()]
    if any(value is None for value in values):
        return None
    return ", ".join(value for value in values if value)
