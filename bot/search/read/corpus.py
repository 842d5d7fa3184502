"""Load a folder of articles (and its subfolders) and strip the scraping junk around their text.

Plain text (`.txt`), Markdown (`.md`, whose YAML front matter is metadata) and saved web pages
(`.html`, `.htm`, whose main text and metadata trafilatura finds) are read. Metadata comes from
`sources.toml` first, then the file itself, then a "Source:" footer.

Every cleaning rule here is generic: it describes the shape of page furniture (comment forms,
teaser lists, counters, share widgets, citation footers), never the words of one file.
"""

from __future__ import annotations

import re
import tomllib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path, PurePosixPath

from bot.search.read.folders import FolderError, Listing, list_site
from bot.search.read.frontmatter import split_front_matter
from bot.search.read.html import HTML_SUFFIXES, Page, PageError, read_page
from bot.search.read.lines import TextError, decoded, split_at_newlines, str_blocks, text_lines
from bot.search.read.page_stream import read_streamed
from bot.search.read.sentences import fenced, piece_breaks

MARKDOWN_SUFFIXES = (".md",)
ARTICLE_SUFFIXES = (".txt", *MARKDOWN_SUFFIXES, *HTML_SUFFIXES)
READ_FORMATS = ".txt, .md, .html or .htm"
METADATA_FILE = "sources.toml"
IGNORE_SETTING = "CORPUS_IGNORE"
MAX_FILE_BYTES = 50 * 1024 * 1024
# Up to this size a web page is read whole, as a tree (by trafilatura or docs.py); past it, as it
# streams (page_stream.py). A tree costs about 25 times the page: reading bench/build_memory.py's
# saved page took 59 MB more at 2 MB and 127 MB more at 5 MB, and streaming it 7 MB at 5 MB.
WHOLE_PAGE_BYTES = 5_000_000
# An article's cleaned text is kept in pieces of about this many characters, and split a piece at a
# time: splitting holds one piece's sentences with their words and terms, about 25 MB for 1 MB of
# English-like text (bench/build_memory.py's text file), whatever the article's size.
PIECE_CHARS = 1_000_000
_REASONS_SHOWN = 5

LineSource = Callable[[], Iterator[str]]  # an article's lines, read again from the start at each call


class CorpusError(Exception):
    """No usable article could be loaded; the message names the folder and the fix."""


@dataclass(frozen=True)
class Article:
    """One article as users see it: numbered from 1 in path order; `file` is its path in the corpus folder."""

    number: int
    file: str
    title: str
    publisher: str | None = None
    url: str | None = None
    date: str | None = None
    sentence_count: int = 0
    author: str | None = None


_METADATA_FIELDS = ("title", "publisher", "url", "date", "author")


@dataclass(frozen=True)
class Metadata:
    title: str | None = None
    publisher: str | None = None
    url: str | None = None
    date: str | None = None
    author: str | None = None

    def over(self, *fallbacks: Metadata) -> Metadata:
        """These values, each missing one taken from the first fallback that has it."""
        layers = (self, *fallbacks)
        return Metadata(**{name: next((getattr(m, name) for m in layers if getattr(m, name)), None) for name in _METADATA_FIELDS})

    def single_spaced(self) -> Metadata:
        """Each value on one line with single spaces: a title is shown in one line of a list or an embed."""
        return Metadata(**{name: " ".join(value.split()) or None if (value := getattr(self, name)) else None for name in _METADATA_FIELDS})


@dataclass(frozen=True)
class Document:
    """An article's cleaned text with what is known about it.

    The text is held in pieces that split on their own (see `piece_breaks`), so that splitting a
    50 MB article never holds all of its sentences at once.
    """

    file: str
    pieces: tuple[str, ...]
    metadata: Metadata
    from_markup: bool = False  # read from a documentation page's markup, whose headings are all marked

    @property
    def text(self) -> str:
        """The whole cleaned text, in one string."""
        return "\n".join(self.pieces)


class Articles:
    """A folder's articles, each file read, cleaned and handed on only when iteration reaches it.

    Iterate once. `warnings` fills up as files are read; CorpusError comes at the end of the
    iteration when no file was usable. `len` counts the article files found (files skipped with a
    warning included), enough to show progress; `small_bytes` adds up the sizes of those that will
    be a single piece (at most PIECE_CHARS bytes), the ones worker processes split whole: enough
    to choose whether starting workers pays before anything is read.
    """

    def __init__(self, folder: Path, paths: list[PurePosixPath], metadata: dict[str, Metadata], warnings: list[str], max_bytes: int) -> None:
        self.folder = folder
        self.warnings = warnings
        self.small_bytes = sum(size for size in (_size(folder / name) for name in paths) if size <= PIECE_CHARS)
        self._paths = paths
        self._metadata = metadata
        self._max_bytes = max_bytes

    def __len__(self) -> int:
        return len(self._paths)

    def __iter__(self) -> Iterator[Document]:
        found = 0
        for name in self._paths:
            document = _document(self.folder, name, self._metadata, self._max_bytes, self.warnings)
            if document is not None:
                found += 1
                yield document
        if not found:
            kind = f"no {READ_FORMATS} files" if not self._paths else "no usable articles"
            reasons = "".join(f"\n- {warning}" for warning in self.warnings[:_REASONS_SHOWN])
            more = len(self.warnings) - _REASONS_SHOWN
            raise CorpusError(
                f"corpus folder {self.folder} has {kind}; put {READ_FORMATS} articles in it "
                f"or point CORPUS_DIR (or --corpus) at another folder{reasons}"
                + (f"\n- and {more} more" if more > 0 else "")
            )


def read_folder(folder: Path, *, max_bytes: int = MAX_FILE_BYTES, ignore: Sequence[str] = ()) -> Articles:
    """The article files under `folder`, to be read as they are iterated; a bad or unsupported file is a
    warning, no usable file at all a CorpusError.

    `ignore` holds the operator's glob patterns (CORPUS_IGNORE) for paths never to read.
    """
    require_folder(folder)
    warnings: list[str] = []
    metadata = _read_metadata(folder, warnings)
    listing = site_files(folder, ignore)
    found = [PurePosixPath(name) for name in listing.files]
    paths = [p for p in found if p.suffix.lower() in ARTICLE_SUFFIXES]
    warnings.extend(
        f"{folder / p}: {p.suffix or 'a file with no suffix'} is not an article format; only {READ_FORMATS} files are read"
        for p in found
        if p.suffix.lower() not in ARTICLE_SUFFIXES and p.as_posix() != METADATA_FILE
    )
    warnings.extend(f"{error.filename}: folder cannot be listed ({error.strerror}); skipped" for error in listing.unreadable)
    if note := listing.skipped_note(IGNORE_SETTING):
        warnings.append(f"corpus folder {folder}: {note}")
    return Articles(folder, paths, metadata, warnings, max_bytes)


def _document(folder: Path, name: PurePosixPath, metadata: dict[str, Metadata], max_bytes: int, warnings: list[str]) -> Document | None:
    path = folder / name
    read = _read_article(path, max_bytes, warnings)
    if read is None:
        return None
    lines, own, from_markup = read
    pieces, footer = clean_pieces(lines, from_markup=from_markup)
    if not pieces:
        warnings.append(f"{path}: nothing but page furniture is left after cleaning; skipped")
        return None
    meta = metadata.get(name.as_posix(), Metadata()).over(own, footer).single_spaced()
    return Document(name.as_posix(), pieces, meta, from_markup)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def site_files(folder: Path, ignore: Sequence[str] = ()) -> Listing:
    """The folder's files, subfolders included; CorpusError, saying so, if it cannot be listed."""
    try:
        return list_site(folder, ignore)
    except FolderError as error:
        raise CorpusError(f"cannot list corpus folder {folder}: {error.strerror}; check its permissions") from None


def require_folder(folder: Path) -> None:
    if not folder.is_dir():
        raise CorpusError(
            f"corpus folder {folder} does not exist or is not a folder; "
            f"set CORPUS_DIR (or --corpus) to a folder of {READ_FORMATS} articles"
        )


def _read_article(path: Path, max_bytes: int, warnings: list[str]) -> tuple[LineSource, Metadata, bool] | None:
    """The article's lines, the metadata the file itself carries, and whether its furniture was left out by
    its markup (a documentation page); None (with a warning) if unusable."""
    data = _read_bytes(path, max_bytes, warnings)
    if data is None:
        return None
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        try:
            page = read_page(data) if len(data) <= WHOLE_PAGE_BYTES else _read_big_page(path, data, warnings)
        except PageError as error:
            warnings.append(f"{path}: {error}; skipped")
            return None
        return lambda: text_lines(str_blocks(page.text)), Metadata(**page.fields), page.from_markup
    if not _decodes(path, data, warnings):
        return None
    if suffix in MARKDOWN_SUFFIXES:
        front = split_front_matter(lambda: split_at_newlines(decoded(data)), _METADATA_FIELDS)
        warnings.extend(f"{path}: {note}" for note in front.notes)
        body = _after_lines(data, front.body_line)
        encoding = "utf-8" if front.body_line else "utf-8-sig"  # a byte order mark can only open the file
        if not any(line.strip() for line in split_at_newlines(decoded(body, encoding))):
            warnings.append(f"{path}: nothing but front matter; add the article's text or remove the file")
            return None
        return lambda: text_lines(decoded(body, encoding)), Metadata(**front.fields), False
    return lambda: text_lines(decoded(data)), Metadata(), False


def _read_big_page(path: Path, data: bytes, warnings: list[str]) -> Page:
    """A page past WHOLE_PAGE_BYTES, read as it streams; the operator is told its article was not picked out."""
    text, fields = read_streamed(data)
    if not text.strip():
        raise PageError("no text found in the page (only navigation, scripts or other page furniture)")
    warnings.append(
        f"{path}: {len(data) / 1e6:.0f} MB is over the {WHOLE_PAGE_BYTES / 1e6:.0f} MB up to which a page's article is "
        "picked out of its navigation and teasers; read every paragraph outside menus, headers and footers instead"
    )
    return Page(text, fields)


def _after_lines(data: bytes, lines: int) -> memoryview | bytes:
    """The bytes after the first `lines` lines (a front matter block), without copying them."""
    start = 0
    for _ in range(lines):
        start = data.index(b"\n", start) + 1
    return memoryview(data)[start:] if start else data


def _read_bytes(path: Path, max_bytes: int, warnings: list[str]) -> bytes | None:
    try:
        if not path.is_file():
            warnings.append(f"{path}: not a regular file (a folder, a broken link or a link loop); skipped")
            return None
        size = path.stat().st_size
        if size > max_bytes:
            warnings.append(
                f"{path}: {size / 1e6:.0f} MB is larger than the {max_bytes / 1e6:.0f} MB limit; "
                "split it into smaller articles"
            )
            return None
        data = path.read_bytes()
    except OSError as error:
        warnings.append(f"{path}: cannot be read ({error.strerror}); check the file's permissions")
        return None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            data = data.decode("utf-16").encode("utf-8")  # rare: held twice for a moment
        except UnicodeDecodeError:
            warnings.append(f"{path}: starts like UTF-16 but does not decode; save it as UTF-8")
            return None
    if b"\x00" in data:
        warnings.append(f"{path}: looks binary (it contains NUL bytes); only text articles and web pages are read")
        return None
    if not data or data.isspace():
        warnings.append(f"{path}: empty; add the article's text or remove the file")
        return None
    return data


def _decodes(path: Path, data: bytes, warnings: list[str]) -> bool:
    """Whether the bytes are UTF-8 text with something besides whitespace in it (a warning says why not)."""
    blank = True
    try:
        for block in decoded(data):
            blank = blank and block.isspace()
    except TextError as error:
        warnings.append(f"{path}: not UTF-8 text (bad byte at offset {error.offset}); save it as UTF-8")
        return False
    if blank:
        warnings.append(f"{path}: empty; add the article's text or remove the file")
        return False
    return True


def _read_metadata(folder: Path, warnings: list[str]) -> dict[str, Metadata]:
    path = folder / METADATA_FILE
    if not path.is_file():
        return {}
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            warnings.append(f"{path}: larger than {MAX_FILE_BYTES / 1e6:.0f} MB, so not read; articles load without it")
            return {}
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        warnings.append(f"{path}: unreadable metadata ({error}); articles load without it")
        return {}
    entries: dict[str, Metadata] = {}
    for name, fields in table.items():
        if not isinstance(fields, dict):
            warnings.append(f"{path}: [{name!r}] should be a table of {'/'.join(_METADATA_FIELDS)}; ignored")
            continue
        values = {key: str(fields[key]).strip() or None for key in _METADATA_FIELDS if key in fields}
        entries[name] = Metadata(**values)
    return entries


# --- cleaning -----------------------------------------------------------------------------

_TEASER_HEADINGS = re.compile(
    r"(explore|read|see|discover) more|more (stories|articles|news|from \w+( \w+)?|on this topic)"
    r"|related( articles| posts| stories| reading| content| news)?|you (may|might) also (like|enjoy)"
    r"|recommended( for you| reading| articles)?|read (next|also)|further reading|also read"
    r"|trending( now| stories)?|popular( now| posts| stories)?|latest (news|stories|posts)",
    re.IGNORECASE,
)
_COMMENT_FORM = re.compile(
    r"leave a (reply|comment)|post (a )?comment|add a comment|cancel reply|\d+ comments?|comments?"
    r"|your email address will not be published|required fields are marked"
    r"|save my name, email,? and website",
    re.IGNORECASE,
)
_COUNTER = re.compile(
    r"(\d[\d,.]*\s*(k|m)?\s*(min(ute)?s?|hours?)\s*(read|listen)|\d[\d,.]*\s*(k|m)?\s*(views?|reads?|shares?|likes?|comments?))",
    re.IGNORECASE,
)
_WIDGET_WORDS = frozenset(
    "share shares tweet pin email print copy link facebook twitter x linkedin whatsapp reddit telegram "
    "on off toggle article highlights highlight save bookmark follow us subscribe advertisement ad "
    "sponsored listen to this audio font size a a+ a- show hide summary ai-generated".split()
)
# A host name ends in a country code or a common generic top-level domain; a dotted name in code
# ("queryset.query", "django.db.models.Manager", "Meta.ordering") ends in neither.
_HOST = r"(?:[a-z0-9-]+\.)+(?:[a-z]{2}|com|org|net|edu|gov|mil|int|info|biz|name|pro|news|media|blog|online|site|tech|app|dev)"
# A citation "(reuters.com)" stands after a space or opens the line: "str(queryset.query)" is a call.
_CITATION = re.compile(rf"(?:(?<!\s)\s+|^)\((?:https?://)?(?:www\.)?{_HOST}(?:/\S*)?\)", re.IGNORECASE)
_DOMAIN = re.compile(rf"^(?:https?://)?(?:www\.)?({_HOST})(/\S*)?$", re.IGNORECASE)
_SOURCE_FOOTER = re.compile(r"^(sources?|via|originally published (?:on|at|by)|credits?)\b\s*(:?)\s*(.*)$", re.IGNORECASE)
_STRAY_QUOTE_MARK = re.compile(r"(^|(?<=[.!?]))\s*>+\s*(?=\S)")
# Every kind of whitespace in a line is one space (line breaks are made "\n" by lines.text_lines).
# Collapsing them first keeps the patterns below linear: none of them then meets a run of whitespace
# longer than one character.
_SPACES = re.compile(r"(?:[^\S\n]|\u200b)+")

_TAIL_FRACTION = 0.3
_FOOTER_LINES = 3


def clean_text(text: str) -> tuple[str, Metadata]:
    """Strip page furniture; return the article text and what a "Source:" footer said."""
    pieces, footer = clean_pieces(lambda: text_lines(str_blocks(text)))
    return "\n".join(pieces), footer


def clean_pieces(lines: LineSource, *, from_markup: bool = False) -> tuple[tuple[str, ...], Metadata]:
    """`clean_text` of an article's lines, in pieces of about PIECE_CHARS (see `piece_breaks`).

    Three passes over the lines, none holding them all: the first measures the text, the second
    finds where trailing furniture begins and the "Source:" footer, the third keeps the article.
    Text read `from_markup` (a documentation page) had its comment forms, teasers and widgets left
    out by their markup; there a "Comments" or "Further reading" heading is a section of the text.
    """
    total = sum(len(line) for line in _spaced(lines())) or 1
    end, footer_at, footer = _furniture(lines(), total)
    kept = _kept(islice(_spaced(lines()), None if from_markup else end), footer_at, widgets=not from_markup)
    pieces = ["\n".join(piece) for piece in piece_breaks(kept, PIECE_CHARS)]
    while pieces and not pieces[0].strip():
        pieces.pop(0)
    while pieces and not pieces[-1].strip():
        pieces.pop()
    if pieces:
        pieces[0] = pieces[0].lstrip()
        pieces[-1] = pieces[-1].rstrip()
    return tuple(pieces), footer


def _spaced(lines: Iterable[str]) -> Iterator[str]:
    """Each line single-spaced and stripped, but a code example's, which keeps its indentation."""
    for line, role in fenced(lines):
        yield line.rstrip() if role else _SPACES.sub(" ", line).strip()


def _furniture(lines: Iterable[str], total: int) -> tuple[int | None, int | None, Metadata]:
    """Where the article ends: before a teaser list or comment form once it has begun (None: at the end);
    and the number of a "Source:" footer line among its last lines, with what it says."""
    seen = 0
    end = None
    last: deque[tuple[int, str]] = deque(maxlen=_FOOTER_LINES)
    for number, line in enumerate(_spaced(lines)):
        if seen / total >= _TAIL_FRACTION and _is_section_marker(line):
            end = number
            break
        seen += len(line)
        if line:
            last.append((number, line))
    for number, line in reversed(last):
        match = _SOURCE_FOOTER.match(line)
        if match is None or len(line) > 200:
            continue
        has_colon = bool(match.group(2))
        if not has_colon and line.endswith((".", "!", "?")):
            continue
        return end, number, _footer_metadata(match.group(3)) if has_colon else Metadata()
    return end, None, Metadata()


def _kept(lines: Iterable[str], footer_at: int | None, *, widgets: bool) -> Iterator[str]:
    """The article's lines without citations or stray quote marks, and without furniture lines if `widgets`
    may be among them; code kept exactly."""
    article = (line for number, line in enumerate(lines) if number != footer_at)
    held: str | None = None  # a line that looks like furniture, until the next text line says what it is
    blanks = 0
    for line, role in fenced(article):
        if held is not None:
            if not role and not line.strip():
                blanks += 1
                continue
            if not role and line.startswith(": "):
                yield _cleaned(held)  # it names the definition under it: an option "-x", not a share widget's "X"
            yield from [""] * blanks
            held, blanks = None, 0
        if role:
            yield line  # a code example is kept exactly, indentation and all
        elif widgets and _is_furniture_line(line):
            held = line
        else:
            yield _cleaned(line)
    yield from [""] * blanks


def _cleaned(line: str) -> str:
    return _STRAY_QUOTE_MARK.sub(" ", _CITATION.sub("", line)).strip()


def _is_section_marker(line: str) -> bool:
    bare = line.strip(" :.-–—#*_>").strip()
    return bool(bare) and (_TEASER_HEADINGS.fullmatch(bare) is not None or _COMMENT_FORM.fullmatch(bare) is not None)


def _is_furniture_line(line: str) -> bool:
    bare = line.strip(" :.-–—#*_|•·")
    if not bare:
        return False
    if _COMMENT_FORM.fullmatch(bare) or _COMMENT_FORM.match(bare) and len(bare) < 90 and bare.endswith("*"):
        return True
    if len(bare) <= 60 and _COUNTER.search(bare) and len(_COUNTER.sub("", bare).split()) <= 2:
        return True
    if _CITATION.fullmatch(" " + bare) or _DOMAIN.fullmatch(bare.strip("()")):
        return True
    words = bare.lower().split()
    return len(words) <= 6 and all(word.strip("|/·•()") in _WIDGET_WORDS for word in words)


def _footer_metadata(said: str) -> Metadata:
    words = said.split(maxsplit=1)
    if not words:
        return Metadata()
    domain = _DOMAIN.fullmatch(words[0].strip("(),"))
    if domain is None:
        return Metadata(publisher=said.strip() if len(said.split()) <= 4 else None)
    url = words[0].strip("(),") if domain.group(2) or words[0].startswith("http") else None
    title = words[1].strip(" -–—|:") if len(words) > 1 else None
    return Metadata(title=title or None, publisher=domain.group(1).lower(), url=url)
