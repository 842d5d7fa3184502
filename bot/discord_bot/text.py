"""Text shown on Discord: measured as Discord counts it, clipped to fit, and escaped to show literally.

Pure functions with no Discord objects, shared by the embeds (render.py) and the cogs. Lengths are
UTF-16 code units, which is never less than what Discord counts, so text that fits here fits there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import quote, urlsplit

# Characters that are markdown anywhere in a line (emphasis, code, spoilers, masked links, mentions);
# a backslash before one shows it literally. Bare URLs are wrapped in <> instead, which keeps them
# clickable and stops link previews.
_MARKDOWN = re.compile(r"(https?://[^\s<>()\[\]]*[^\s<>()\[\].,:;\"'])|([\\*_~`|\[\]<])")
# Characters that are markdown only at the start of a line: quotes, headings, lists.
_LINE_START = re.compile(r"^([>#-])")
_MENTION = re.compile(r"@(everyone|here)")
# A link in someone's own words (a question, an unknown command) is shown as code: readable, but neither
# clickable nor previewed, because the bot's message must carry no link the articles do not contain
# ("[official answer](https://evil.example)" included). Any scheme, any case, and www. addresses; the
# lookbehind starts a match only where a run of scheme characters begins, which keeps the search linear.
_THEIR_LINK = re.compile(r"(?<![\w+.-])(?:[a-z][\w+.-]*:/+|www\.)[^\s`]+", re.IGNORECASE)
# Invisible formatting characters in article or question text: bidirectional embeddings, overrides and
# isolates (an RLO reverses the rest of a quoted line), directional marks, zero-width spaces, word
# joiners and BOMs. They are dropped when rendering. ZWJ and ZWNJ stay: scripts such as Persian and
# Hindi, and emoji sequences, need them, and they cannot reorder text. (The "@\u200beveryone" that
# `_escape_inline` writes itself is added after this.)
_INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]+")


def units(text: str) -> int:
    """Length as Discord may count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` units, at a word boundary when one is near, marked with an ellipsis."""
    if units(text) <= limit:
        return text
    keep = max(0, limit - units(ellipsis))
    cut = text[:keep]
    while units(cut) > keep:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > keep - 20 and space > 0:
        cut = cut[:space]
    return cut.rstrip() + ellipsis


def escape(text: str) -> str:
    """Show corpus or user text literally: no markdown, no mention pings, no masked links, no bidi tricks, one line."""
    return _escape_inline(flat(text), at_start=True)


def inert(text: str) -> str:
    """Show what a person wrote literally, as `escape` does, with any link in it shown as code that links nowhere."""
    one_line = flat(text)
    parts: list[str] = []
    last = 0
    for match in _THEIR_LINK.finditer(one_line):
        parts.append(_escape_inline(one_line[last : match.start()], at_start=last == 0))
        parts.append("`" + _MENTION.sub("@\u200b\\1", match.group()) + "`")  # "a:/@everyone" is a link, and must not ping
        last = match.end()
    parts.append(_escape_inline(one_line[last:], at_start=last == 0))
    return "".join(parts)


def flat(text: str) -> str:
    """`text` on one line, single-spaced, without invisible formatting characters (see _INVISIBLE)."""
    if not text.isascii():  # the common case skips the scan: none of them is ASCII
        text = _INVISIBLE.sub("", text)
    return " ".join(text.split())


def _escape_inline(text: str, *, at_start: bool = False) -> str:
    def replace(match: re.Match[str]) -> str:
        return f"<{match.group(1)}>" if match.group(1) else "\\" + match.group(2)

    escaped = _MENTION.sub("@\u200b\\1", _MARKDOWN.sub(replace, text))
    return _LINE_START.sub(r"\\\1", escaped) if at_start else escaped


def highlight(text: str, matched: Iterable[str]) -> str:
    """`text` escaped, with each whole-word occurrence of a matched word in bold."""
    words = sorted({flat_word for w in matched if (flat_word := flat(w))}, key=len, reverse=True)
    one_line = flat(text)
    if not words:
        return _escape_inline(one_line, at_start=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)", re.IGNORECASE)
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(one_line):
        parts.append(_escape_inline(one_line[last : match.start()], at_start=last == 0))
        parts.append(f"**{_escape_inline(match.group())}**")
        last = match.end()
    parts.append(_escape_inline(one_line[last:], at_start=last == 0))
    return "".join(parts)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL safe inside a markdown link, or None when there is none."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    cleaned = quote(url.strip(), safe=":/?#@!$&'*+,;=%~-._")
    return cleaned if len(cleaned) <= 512 else None


def plural(count: int, noun: str) -> str:
    """ "1 article", "163,046 sentences": every count the bot shows is written the same way."""
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


def duration(seconds: float) -> str:
    """A span of time in its two largest units: "45 s", "12 min 5 s", "3 h 20 min", "2 d 4 h"."""
    whole = int(seconds)
    parts = [(whole // 86400, "d"), (whole % 86400 // 3600, "h"), (whole % 3600 // 60, "min"), (whole % 60, "s")]
    first = next((i for i, (amount, _) in enumerate(parts) if amount), len(parts) - 1)
    return " ".join(f"{amount} {unit}" for amount, unit in parts[first : first + 2] if amount or unit == "s")
