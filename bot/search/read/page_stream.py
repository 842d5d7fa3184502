"""A web page too big to hold as a tree, read from its markup as it streams past.

trafilatura and docs.py both read a page's whole tree, and a tree costs many times the page: a
20 MB saved page took 700 MB to read. Past `html.WHOLE_PAGE_BYTES` a page is fed to lxml's parser
in 64 KB blocks with a target that keeps no tree, only the text of the block being read: memory is
bounded by the longest paragraph, whatever the page's size.

What is lost is trafilatura's judgement of which blocks are the article: here every paragraph,
heading, list item, definition and code block is kept except those inside page furniture (the
tags and classes docs.py leaves out: navigation, headers and footers, sidebars, scripts, forms).
The corpus warns the operator that the page was read this way.
"""

from __future__ import annotations

import re

from lxml import etree

from bot.search.read.docs import _FURNITURE_TAGS, is_furniture
from bot.search.read.lines import TextError, decoded

_BLOCK_BYTES = 1 << 16
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = frozenset(("p", *_HEADINGS, "li", "pre", "dt", "dd", "blockquote", "div", "section", "article", "main", "td", "th", "tr", "table", "ul", "ol", "dl", "figure", "figcaption", "br"))
_SKIPPED = frozenset((*_FURNITURE_TAGS, "header", "head"))
_SPACE = re.compile(r"\s+")
_TITLE_SEPARATORS = re.compile(r"\s+[—–|·-]\s+")
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")
_META = {  # (attribute, value) -> field
    ("property", "og:site_name"): "publisher",
    ("name", "application-name"): "publisher",
    ("name", "author"): "author",
    ("property", "og:url"): "url",
    ("property", "article:published_time"): "date",
    ("name", "date"): "date",
    ("name", "dc.date"): "date",
}


class _Reader:
    """An lxml parser target: collects block texts in the shapes sentences.py reads, and the head's metadata."""

    def __init__(self) -> None:
        self.blocks: list[str] = []
        self.fields: dict[str, str] = {}
        self._open: list[tuple[str, bool]] = []  # (tag, skipped) of each open element
        self._skipping = 0
        self._text: list[str] = []
        self._title: list[str] | None = None
        self._pre = 0

    def start(self, tag: str, attributes: dict[str, str]) -> None:
        tag = tag.lower() if isinstance(tag, str) else ""
        if tag == "meta":
            self._meta(attributes)
        elif tag == "link" and attributes.get("rel", "").lower() == "canonical" and attributes.get("href"):
            self.fields.setdefault("url", attributes["href"])
        elif tag == "title" and "title" not in self.fields:
            self._title = []
        skipped = self._skipping > 0 or tag in _SKIPPED or is_furniture(attributes)
        self._open.append((tag, skipped))
        if skipped:
            self._skipping += 1
            return
        if tag in _BLOCKS:
            self._flush(self._pending_kind())
        if tag == "pre":
            self._pre += 1

    def end(self, tag: str) -> None:
        tag = tag.lower() if isinstance(tag, str) else ""
        if all(open_tag != tag for open_tag, _ in self._open):
            return  # an end tag nothing opened
        if tag == "title" and self._title is not None:
            title = _SPACE.sub(" ", "".join(self._title)).strip()
            parts = _TITLE_SEPARATORS.split(title)
            self.fields.setdefault("title", " — ".join(parts[:-1]) if len(parts) > 1 else title)
            self._title = None
        while self._open:
            open_tag, skipped = self._open.pop()
            if skipped:
                self._skipping -= 1
            elif open_tag in _BLOCKS:
                self._flush(open_tag)
                if open_tag == "pre":
                    self._pre -= 1
            if open_tag == tag:
                break

    def data(self, text: str) -> None:
        if self._title is not None:
            self._title.append(text)
        if not self._skipping:
            self._text.append(text)

    def close(self) -> None:
        self._flush("p")

    def _pending_kind(self) -> str:
        """The block the loose text before a nested block belongs to (a list item's own words stay a bullet)."""
        for tag, _ in reversed(self._open[:-1]):
            if tag in _BLOCKS:
                return tag
        return "p"

    def _flush(self, tag: str) -> None:
        raw = "".join(self._text)
        self._text = []
        if self._pre or tag == "pre":
            code = raw.strip("\n")
            if code.strip():
                self.blocks.append("```\n" + "\n".join(line.rstrip() for line in code.split("\n")).replace("```", "ˋˋˋ") + "\n```")
            return
        text = _SPACE.sub(" ", raw).strip()
        if not text:
            return
        if tag in _HEADINGS:
            self.blocks.append(f"# {text}")
        elif tag == "li":
            self.blocks.append(f"- {text}")
        else:
            self.blocks.append(text)

    def _meta(self, attributes: dict[str, str]) -> None:
        content = attributes.get("content", "").strip()
        for (attribute, value), name in _META.items():
            if content and attributes.get(attribute, "").lower() == value:
                if name == "date":
                    match = _ISO_DATE.match(content)
                    if match is None:
                        continue
                    content = match.group(1)
                self.fields.setdefault(name, content)


def read_streamed(data: bytes) -> tuple[str, dict[str, str]]:
    """The page's text (a block a paragraph, blank lines between) and its metadata, never holding its tree."""
    try:
        for _ in decoded(data, "utf-8"):
            pass
        encoding: str | None = "utf-8"  # libxml2 would guess Latin-1 for a page declaring nothing
    except TextError:
        encoding = None
    reader = _Reader()
    parser = etree.HTMLParser(target=reader, encoding=encoding)
    view = memoryview(data)
    for start in range(0, len(view), _BLOCK_BYTES):
        parser.feed(bytes(view[start : start + _BLOCK_BYTES]))
    parser.close()
    return "\n\n".join(reader.blocks), reader.fields
