"""Split an article's text into sentences, respecting its structure.

Headings, bullets and FAQ lines are boundaries. Headings and FAQ questions are never answers
themselves, but they travel with the sentences under them as `section` and `prompt`, so an FAQ
answer can be found by the words of its question.

Documentation adds three shapes, read the same way from Markdown and from docs.py's reading of
HTML: a definition list's term (a line followed by a `: description` line, as Markdown extensions
write it; an API signature or a command-line option) is the heading of its description and its
description's prompt, like an FAQ question; a fenced code block (```) is never a sentence but
belongs to the prose sentence before it, which shows it; admonition markers (`!!! note`, `:::tip`,
`> [!NOTE]`) are not text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nltk.tokenize.punkt import PunktSentenceTokenizer

# Punkt's trained models are a data download we may not use, so its abbreviations come from here.
ABBREVIATIONS = frozenset(
    """
    a.m p.m u.s u.k u.n e.u e.g i.e etc vs v al approx appt apt ave blvd capt cf cmdr co col corp dept
    dr est fig ft gen gov hon inc jr lt ltd ms mr mrs mt no nos op p pp ph.d prof rep rev sen sgt sr st
    jan feb mar apr jun jul aug sep sept oct nov dec mon tue tues wed thu thur thurs fri sat sun
    no nos vol vols ed eds est min max mln bn n.b a.k.a u.s.a d.c b.a m.a m.d ph.d pvt plc llc
    """.split()
)
MAX_SENTENCE_CHARS = 600
PUNKT_CHUNK_CHARS = 20_000

_BULLET = re.compile(r"^(?:[•·▪◦‣●○■□➤►✓✔*+\-–—]|\(?\d{1,3}[.)]|\(?[a-z][.)])\s+")
MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+")
_FAQ_QUESTION = re.compile(r"^(?:q|question)\s*[:.)]\s*", re.IGNORECASE)
_FAQ_ANSWER = re.compile(r"^(?:a|answer)\s*[:.)]\s*", re.IGNORECASE)
_SENTENCE_END = (".", "!", "?", "…", '"', "”", "'", "’", ")")
_HEADING_MAX_WORDS = 16
_HEADING_MAX_CHARS = 200
_WRAPPED_LINE_MIN_CHARS = 50
_LEAD_IN_MIN_WORDS = 6
_FRAGMENT_MAX_WORDS = 3  # a list item or paragraph of fewer words may be a bare name (see `_fragment`)
_FENCE = re.compile(r"^\s*(```+|~~~+)")
_DEFINITION = re.compile(r"^:\s+")
# The end of Punkt's sentence that a lowercase word may go on from: "!", or a "?" that closes no word ("the "?"
# placeholder", "marked with a ? in"); either may be followed by closing quotes and brackets.
_EXCLAIMED = re.compile(r"(?:!|(?<!\w)\?|\?(?=[)\]\"'”’]))[)\]\"'”’]*$")
_TERM_ENDS = ("–", "—", "-", ":")  # a name waiting for its description: "- conn_timeout (float) –"
_ADMONITION = re.compile(r"^(?:[!?]{3}\+?\s+\w+.*|:::+\s*\w*.*|>\s*\[!\w+\]\s*)$")
# A page built without the admonition extension prints the marker (and its quoted title) into the paragraph
# it opens, the note's text after it on the same line: the marker goes, the text stays.
_ADMONITION_OPENING = re.compile(r'^[!?]{3}\+?\s+\w+(?:\s+"[^"]*")?\s+(?=\S)')
# Markdown's attribute lists ("[Typer CLI](../cli/){.internal-link target=_blank}", "## Install { #install }"),
# which a page built without the extension prints as text: markup, not words.
_ATTRIBUTE = r"""(?:[.#][\w-]+|[\w-]+=(?:"[^"]*"|'[^']*'|[^\s}]+))"""
_INLINE_CODE = re.compile(r"(`[^`]*`)")
_ATTRIBUTE_LIST = re.compile(rf"[ \t]?\{{(?::[ \t]*{_ATTRIBUTE}|[ \t]*[.#][\w-]+)(?:[ \t]+{_ATTRIBUTE})*[ \t]*\}}")


class Kind(StrEnum):
    TEXT = "text"
    BULLET = "bullet"
    ANSWER = "answer"
    HEADING = "heading"
    QUESTION = "question"
    LEAD_IN = "lead-in"
    TERM = "term"  # a definition list's term: an API signature, an option
    CODE = "code"  # a code block, shown under the sentence before it
    FRAGMENT = "fragment"  # a bare name or label ("gettext_lazy()", "Optional."): no sentence

    @property
    def answers(self) -> bool:
        """Whether a sentence of this kind may be shown as an answer ("Here is how:" says nothing)."""
        return self not in (Kind.HEADING, Kind.QUESTION, Kind.LEAD_IN, Kind.TERM, Kind.CODE, Kind.FRAGMENT)


@dataclass(frozen=True)
class Passage:
    """One sentence (or heading, or FAQ question) and the structure around it."""

    text: str
    kind: Kind
    section: str = ""
    prompt: str = ""


@dataclass(frozen=True)
class Flow:
    """Where the text before a piece left off: the heading and FAQ question it is under, and its last passage's kind.

    A long article is split a piece at a time (see `piece_breaks`); carrying this across a break
    makes the pieces' passages the same as the whole text's.
    """

    section: str = ""
    prompt: str = ""
    last: Kind | None = None


def split_passages(text: str, *, lines_as_sentences: bool = False) -> list[Passage]:
    """Turn cleaned article text into passages in reading order.

    `lines_as_sentences` is for text with no sentence punctuation at all (a list of lines, a
    transcript), which would otherwise be read as nothing but headings.
    """
    return continue_passages(text, Flow(), lines_as_sentences=lines_as_sentences)[0]


def continue_passages(
    text: str, flow: Flow, *, lines_as_sentences: bool = False, marked_headings: bool = False
) -> tuple[list[Passage], Flow]:
    """`split_passages` of a piece that follows text which left off at `flow`; and where this piece leaves off.

    `marked_headings` is for text whose headings are all marked (`# `, a documentation page read from its
    markup): there a line with no full stop ("Skip the files in the corresponding directories if they already
    exist") is a paragraph all the same.
    """
    passages: list[Passage] = []
    section, prompt = flow.section, flow.prompt
    lines = _logical_lines(text)
    for number, line in enumerate(lines):
        if line.startswith(("```", "~~~")):
            _shown(passages)
            passages.append(Passage(line.split("\n", 1)[1] if "\n" in line else "", Kind.CODE, section))
            continue
        described = number + 1 < len(lines) and _DEFINITION.match(lines[number + 1])
        if described and not _DEFINITION.match(line) and not _prose_bullet(line):
            _shown(passages)
            section = prompt = line
            passages.append(Passage(line, Kind.TERM))
            continue
        if match := _DEFINITION.match(line):
            kind, body = (Kind.ANSWER if prompt else Kind.TEXT), line[match.end() :]
        else:
            kind, body = _classify(line, headings=not lines_as_sentences)
            introduces_code = number + 1 < len(lines) and lines[number + 1].startswith(("```", "~~~"))
            if kind is Kind.HEADING and not MARKDOWN_HEADING.match(line):
                if introduces_code:
                    # "If that version works correctly, type" introduces its example: not a heading
                    kind = Kind.TEXT if _says_something(body) else Kind.LEAD_IN
                elif marked_headings and not line.endswith(":"):
                    kind = Kind.TEXT
        if kind is Kind.HEADING:
            section, prompt = body, ""
            passages.append(Passage(body, kind))
            continue
        if kind is Kind.QUESTION:
            prompt = body
            passages.append(Passage(body, kind, section))
            continue
        if kind is Kind.TEXT and (passages[-1].kind if passages else flow.last) is Kind.QUESTION:
            kind = Kind.ANSWER
        elif kind is Kind.TEXT:
            prompt = ""
        for sentence in split_sentences(body):
            own = kind if kind is Kind.LEAD_IN else _sentence_kind(sentence, kind, fragments=not lines_as_sentences)
            passages.append(Passage(sentence, own, section, prompt))
    return passages, Flow(section, prompt, passages[-1].kind if passages else flow.last)


def piece_breaks(lines: Iterable[str], size: int) -> Iterator[list[str]]:
    """The lines in pieces of about `size` characters, each of which `continue_passages` can split on its own.

    A piece ends only at a blank line outside a code block, and only if the next text line neither
    opens a code block nor is a `: ` description: there nothing in splitting looks across the
    break but what `Flow` carries. A piece grows past `size` until such a place comes.
    """
    piece: list[str] = []
    chars = 0
    may_end = 0  # the piece's length up to a blank line where it may end, once the next text line allows it
    for line, role in fenced(lines):
        text = line.strip()
        if may_end and text and not _ADMONITION.match(_ADMONITION_OPENING.sub("", text, count=1)):
            if not (role == "open" or _DEFINITION.match(text)):
                yield piece[:may_end]
                del piece[:may_end]
                chars = sum(len(kept) + 1 for kept in piece)
            may_end = 0
        piece.append(line)
        chars += len(line) + 1
        if not role and not text and chars >= size:
            may_end = len(piece)
    if piece:
        yield piece


def _prose_bullet(line: str) -> bool:
    """A list item that says something of its own ("- reuse_port (bool) – tells the kernel to …"), not a name whose
    description follows ("- loop –", "- number").

    In an API entry the lines after a parameter list go on describing the entry, so a `: ` line may follow
    the list's last item; that item is still a bullet, an answer in its own right, not their term.
    """
    return line.startswith("- ") and not line.endswith(_TERM_ENDS) and len(line.split()) > _FRAGMENT_MAX_WORDS + 1


def _shown(passages: list[Passage]) -> None:
    """The lead-in before a code block or an API signature shows it: "…as in this example:" and "…use the
    on_commit() function:" say something; a bare "git push uses" still does not."""
    if passages and passages[-1].kind is Kind.LEAD_IN and _says_something(passages[-1].text):
        passages[-1] = Passage(passages[-1].text, Kind.TEXT, passages[-1].section, passages[-1].prompt)


def _says_something(line: str) -> bool:
    """Whether a line introducing a code example is a sentence of its own, not a fragment ("git push uses")."""
    return len(line.split()) >= _LEAD_IN_MIN_WORDS


def _sentence_kind(sentence: str, kind: Kind, *, fragments: bool) -> Kind:
    """A sentence that introduces a list, or asks, is not an answer wherever it stands; nor is a bare name
    in a list or a paragraph (`fragments`: the text has sentences to tell it from)."""
    if sentence.endswith(":"):
        return Kind.LEAD_IN
    if sentence.rstrip("\"”'’)").endswith("?") and kind is not Kind.QUESTION:
        return Kind.QUESTION
    if fragments and kind in (Kind.TEXT, Kind.BULLET) and _fragment(sentence):
        return Kind.FRAGMENT
    return kind


def _fragment(sentence: str) -> bool:
    """One word ("pbkdf2_sha256", "Optional."), or two with no full stop ("host: EMAIL_HOST"): a name or
    label, not a sentence. Two words that end like one ("He declined.") are a sentence. An answer under
    its FAQ question or definition term ("Yes.") is read with it, and is no fragment."""
    words = sentence.split()
    return len(words) < 2 or len(words) < _FRAGMENT_MAX_WORDS and not sentence.endswith(_SENTENCE_END)


def split_sentences(text: str) -> list[str]:
    """Punkt sentences, with any over-long run (no punctuation for pages) cut at word boundaries."""
    sentences: list[str] = []
    for chunk in _chunks(text):
        for sentence in _rejoined(_punkt().tokenize(chunk)):
            sentences.extend(_cap_length(sentence.strip()))
    return [s for s in sentences if s]


def _rejoined(sentences: list[str]) -> list[str]:
    """Punkt's sentences, less its breaks after a "!" or "?" that a lowercase word goes on from.

    Punkt ends a sentence at every "!" and "?", so "The values (but not the keys!) of cookiecutter.json are
    templates" and "prints "Aborted!" to the screen" came out in halves, neither of which says anything. A
    question mark ending a word is left alone: under an FAQ's question the answer may open with a name
    written in lowercase ("Where do I put it? aiohttp.web.Application supports …").
    """
    joined: list[str] = []
    for sentence in sentences:
        if joined and _EXCLAIMED.search(joined[-1]) and sentence[:1].islower():
            joined[-1] = f"{joined[-1]} {sentence}"
        else:
            joined.append(sentence)
    return joined


def title_of(passages: list[Passage]) -> str | None:
    """The first heading, if the article opens with one (a title line)."""
    for passage in passages[:3]:
        if passage.kind is Kind.HEADING and len(passage.text.split()) >= 2:
            return passage.text
    return None


def _logical_lines(text: str) -> list[str]:
    """Lines, with hard-wrapped paragraph lines joined back together and each code block as one line.

    A code block keeps its opening fence as its first line and its own lines, indentation included.
    """
    lines: list[str] = []
    previous_open = False
    raw_lines = text.split("\n")
    fences = _fences(raw_lines)
    for number, raw in enumerate(raw_lines):
        role = fences.get(number)
        if role is not None:
            if role == "open":
                lines.append(raw.strip())
            elif role == "body":
                lines[-1] += "\n" + raw
            previous_open = False
            continue
        line = _ADMONITION_OPENING.sub("", _without_attribute_lists(raw).strip(), count=1)
        if not line or _ADMONITION.match(line):
            previous_open = False
            continue
        if previous_open and not _starts_block(line):
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
        previous_open = _wrapped(lines[-1])
    return lines


def _without_attribute_lists(line: str) -> str:
    """The line without Markdown attribute lists, outside inline code (where `{.x}` is code)."""
    if "{" not in line:
        return line
    parts = _INLINE_CODE.split(line)
    return "".join(part if k % 2 else _ATTRIBUTE_LIST.sub("", part) for k, part in enumerate(parts))


def code_lines(lines: list[str]) -> list[int]:
    """The numbers of the lines of fenced code blocks, fences included (an unclosed block runs to the end)."""
    return sorted(_fences(lines))


def _fences(lines: list[str]) -> dict[int, str]:
    """Each line of a fenced code block, by number: "open", "body" or "close"."""
    return {number: role for number, (_, role) in enumerate(fenced(lines)) if role}


def fenced(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Each line with its role in a fenced code block: "open", "body", "close", or "" outside one."""
    fence = ""
    for line in lines:
        match = _FENCE.match(line)
        if not fence:
            if match:
                fence = match.group(1)
                yield line, "open"
            else:
                yield line, ""
        elif match and match.group(1).startswith(fence) and not line.strip()[len(match.group(1)) :]:
            fence = ""
            yield line, "close"
        else:
            yield line, "body"


def _wrapped(line: str) -> bool:
    """A long line that stops mid-sentence continues on the next line (a headline does not)."""
    return (
        len(line) >= _WRAPPED_LINE_MIN_CHARS
        and not line.endswith(_SENTENCE_END + (":",))
        and not _title_case(line.split())
    )


def _starts_block(line: str) -> bool:
    return bool(
        _BULLET.match(line) or MARKDOWN_HEADING.match(line) or _FAQ_QUESTION.match(line) or _FAQ_ANSWER.match(line)
        or _DEFINITION.match(line)
    )


def _classify(line: str, *, headings: bool = True) -> tuple[Kind, str]:
    if match := MARKDOWN_HEADING.match(line):
        return Kind.HEADING, line[match.end() :].strip(" #")
    if match := _FAQ_QUESTION.match(line):
        return Kind.QUESTION, line[match.end() :]
    if match := _FAQ_ANSWER.match(line):
        return Kind.ANSWER, line[match.end() :]
    if match := _BULLET.match(line):
        return Kind.BULLET, line[match.end() :]
    words = line.split()
    if len(line) > _HEADING_MAX_CHARS or not headings:
        return Kind.TEXT, line
    if line.endswith("?") and len(words) <= _HEADING_MAX_WORDS * 2 and _punkt_count(line) == 1:
        return Kind.QUESTION, line
    if not line.endswith(_SENTENCE_END + (":",)) and (len(words) <= _HEADING_MAX_WORDS or _title_case(words)):
        return Kind.HEADING, line
    if line.endswith(":") and len(words) < _LEAD_IN_MIN_WORDS:
        return Kind.HEADING, line.rstrip(":").strip()
    return Kind.TEXT, line


def _title_case(words: list[str]) -> bool:
    """Headlines capitalise most of their longer words; sentences do not."""
    long_words = [word for word in words if len(word) >= 4 and word[0].isalpha()]
    return bool(long_words) and sum(word[0].isupper() for word in long_words) >= 0.7 * len(long_words)


def _punkt_count(line: str) -> int:
    return len(_punkt().tokenize(line))


def _chunks(text: str) -> Iterator[str]:
    """Pieces small enough for Punkt's regular expressions, which NLTK stops after 5 s."""
    start = 0
    while len(text) - start > PUNKT_CHUNK_CHARS:
        cut = _break_point(text, start, PUNKT_CHUNK_CHARS, (". ", " "))
        yield text[start:cut]
        start = cut
    yield text[start:]


def _cap_length(sentence: str) -> list[str]:
    """Cut a run longer than MAX_SENTENCE_CHARS at clause or word breaks (linear in its length)."""
    pieces: list[str] = []
    start = 0
    while len(sentence) - start > MAX_SENTENCE_CHARS:
        cut = _break_point(sentence, start, MAX_SENTENCE_CHARS, ("; ", ", ", " "))
        pieces.append(sentence[start:cut].strip())
        start = cut
    pieces.append(sentence[start:].strip())
    return pieces


def _break_point(text: str, start: int, limit: int, marks: tuple[str, ...]) -> int:
    """Where to end a piece of at most `limit` characters: after the best mark in its second half."""
    end = start + limit
    for mark in marks:
        at = text.rfind(mark, start + limit // 2, end)
        if at > 0:
            return at + len(mark)
    return end


@cache
def _punkt() -> PunktSentenceTokenizer:
    """Imported here, on first use: `import nltk` loads the whole toolkit (0.45 s), and a start from a
    saved index, which splits nothing, should not pay for it."""
    from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

    parameters = PunktParameters()
    parameters.abbrev_types = set(ABBREVIATIONS)
    return PunktSentenceTokenizer(parameters)
