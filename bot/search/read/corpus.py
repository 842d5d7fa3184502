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
import unicodedata
from dataclasses import dataclass, field
from collections.abc import Sequence
from pathlib import Path

from bot.search.read.folders import FolderError, Listing, list_site
from bot.search.read.frontmatter import split_front_matter
from bot.search.read.html import HTML_SUFFIXES, PageError, read_page
from bot.search.read.sentences import code_lines

MARKDOWN_SUFFIXES = (".md",)
ARTICLE_SUFFIXES = (".txt", *MARKDOWN_SUFFIXES, *HTML_SUFFIXES)
READ_FORMATS = ".txt, .md, .html or .htm"
METADATA_FILE = "sources.toml"
IGNORE_SETTING = "CORPUS_IGNORE"
MAX_FILE_BYTES = 50 * 1024 * 1024
_REASONS_SHOWN = 5


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
    """An article's cleaned text with what is known about it."""

    file: str
    text: str
    metadata: Metadata


@dataclass
class CorpusLoad:
    documents: list[Document] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def load_folder(folder: Path, *, max_bytes: int = MAX_FILE_BYTES, ignore: Sequence[str] = ()) -> CorpusLoad:
    """Load every article file under `folder`; a bad or unsupported file is a warning, an empty result an error.

    `ignore` holds the operator's glob patterns (CORPUS_IGNORE) for paths never to read.
    """
    require_folder(folder)
    load = CorpusLoad()
    metadata = _read_metadata(folder, load.warnings)
    listing = site_files(folder, ignore)
    paths = [p for p in listing.files if p.suffix.lower() in ARTICLE_SUFFIXES]
    load.warnings.extend(
        f"{folder / p}: {p.suffix or 'a file with no suffix'} is not an article format; only {READ_FORMATS} files are read"
        for p in listing.files
        if p.suffix.lower() not in ARTICLE_SUFFIXES and p.as_posix() != METADATA_FILE
    )
    load.warnings.extend(f"{error.filename}: folder cannot be listed ({error.strerror}); skipped" for error in listing.unreadable)
    if note := listing.skipped_note(IGNORE_SETTING):
        load.warnings.append(f"corpus folder {folder}: {note}")
    for name in paths:
        path = folder / name
        read = _read_article(path, max_bytes, load.warnings)
        if read is None:
            continue
        text, own = read
        cleaned, footer = clean_text(text)
        if not cleaned.strip():
            load.warnings.append(f"{path}: nothing but page furniture is left after cleaning; skipped")
            continue
        meta = metadata.get(name.as_posix(), Metadata()).over(own, footer).single_spaced()
        load.documents.append(Document(name.as_posix(), cleaned, meta))
    if not load.documents:
        found = f"no {READ_FORMATS} files" if not paths else "no usable articles"
        reasons = "".join(f"\n- {warning}" for warning in load.warnings[:_REASONS_SHOWN])
        more = len(load.warnings) - _REASONS_SHOWN
        raise CorpusError(
            f"corpus folder {folder} has {found}; put {READ_FORMATS} articles in it "
            f"or point CORPUS_DIR (or --corpus) at another folder{reasons}"
            + (f"\n- and {more} more" if more > 0 else "")
        )
    return load


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


def _read_article(path: Path, max_bytes: int, warnings: list[str]) -> tuple[str, Metadata] | None:
    """The article's text and the metadata the file itself carries; None (with a warning) if unusable."""
    data = _read_bytes(path, max_bytes, warnings)
    if data is None:
        return None
    suffix = path.suffix.lower()
    if suffix in HTML_SUFFIXES:
        try:
            text, fields = read_page(data)
        except PageError as error:
            warnings.append(f"{path}: {error}; skipped")
            return None
        return text, Metadata(**fields)
    text = _decode(path, data, warnings)
    if text is None:
        return None
    if suffix in MARKDOWN_SUFFIXES:
        front = split_front_matter(text, _METADATA_FIELDS)
        warnings.extend(f"{path}: {note}" for note in front.notes)
        if not front.body.strip():
            warnings.append(f"{path}: nothing but front matter; add the article's text or remove the file")
            return None
        return front.body, Metadata(**front.fields)
    return text, Metadata()


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
            data = data.decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            warnings.append(f"{path}: starts like UTF-16 but does not decode; save it as UTF-8")
            return None
    if b"\x00" in data:
        warnings.append(f"{path}: looks binary (it contains NUL bytes); only text articles and web pages are read")
        return None
    if not data.strip():
        warnings.append(f"{path}: empty; add the article's text or remove the file")
        return None
    return data


def _decode(path: Path, data: bytes, warnings: list[str]) -> str | None:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        warnings.append(f"{path}: not UTF-8 text (bad byte at offset {error.start}); save it as UTF-8")
        return None
    if not text.strip():
        warnings.append(f"{path}: empty; add the article's text or remove the file")
        return None
    return text


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
_CITATION = re.compile(r"(?<!\s)\s*\((?:https?://)?(?:www\.)?(?:[a-z0-9-]+\.)+[a-z]{2,}(?:/\S*)?\)", re.IGNORECASE)
_DOMAIN = re.compile(r"^(?:https?://)?(?:www\.)?((?:[a-z0-9-]+\.)+[a-z]{2,})(/\S*)?$", re.IGNORECASE)
_SOURCE_FOOTER = re.compile(r"^(sources?|via|originally published (?:on|at|by)|credits?)\b\s*(:?)\s*(.*)$", re.IGNORECASE)
_STRAY_QUOTE_MARK = re.compile(r"(^|(?<=[.!?]))\s*>+\s*(?=\S)")
# Line breaks as str.splitlines knows them (form feeds, vertical tabs, U+2028 and U+2029 too) end a
# line; every other kind of whitespace is one space. Collapsing them first keeps the patterns below
# linear: none of them then meets a run of whitespace longer than one character.
_LINE_BREAKS = re.compile("\r\n|[\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_SPACES = re.compile(r"(?:[^\S\n]|\u200b)+")
_BLANK_LINES = re.compile(r"\n(?:[^\S\n]*\n)+")  # one blank line or a million: the same paragraph break

_TAIL_FRACTION = 0.3
_FOOTER_LINES = 3


def clean_text(text: str) -> tuple[str, Metadata]:
    """Strip page furniture; return the article text and what a "Source:" footer said."""
    text = _BLANK_LINES.sub("\n\n", _LINE_BREAKS.sub("\n", unicodedata.normalize("NFC", text)))
    code = set(code_lines(text.split("\n")))
    lines = [line.rstrip() if number in code else _SPACES.sub(" ", line).strip() for number, line in enumerate(text.split("\n"))]
    lines = _cut_trailing_furniture(lines)
    lines, footer = _take_source_footer(lines)
    code = set(code_lines(lines))  # the footer's line is gone: number again
    kept: list[str] = []
    for number, line in enumerate(lines):
        if number in code:
            kept.append(line)  # a code example is kept exactly, indentation and all
            continue
        if _is_furniture_line(line):
            continue
        line = _STRAY_QUOTE_MARK.sub(" ", _CITATION.sub("", line)).strip()
        kept.append(line)
    return "\n".join(kept).strip(), footer


def _cut_trailing_furniture(lines: list[str]) -> list[str]:
    """Drop a teaser list or comment form and everything after it, once the article has begun."""
    total = sum(len(line) for line in lines) or 1
    seen = 0
    for number, line in enumerate(lines):
        if seen / total >= _TAIL_FRACTION and _is_section_marker(line):
            return lines[:number]
        seen += len(line)
    return lines


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


def _take_source_footer(lines: list[str]) -> tuple[list[str], Metadata]:
    """A short "Source: site Title" line near the end is attribution, not article text."""
    content = [i for i, line in enumerate(lines) if line]
    for index in reversed(content[-_FOOTER_LINES:]):
        match = _SOURCE_FOOTER.match(lines[index])
        if match is None or len(lines[index]) > 200:
            continue
        has_colon = bool(match.group(2))
        if not has_colon and lines[index].endswith((".", "!", "?")):
            continue
        rest = lines[:index] + lines[index + 1 :]
        return rest, _footer_metadata(match.group(3)) if has_colon else Metadata()
    return lines, Metadata()


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
