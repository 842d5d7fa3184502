"""Split documents into passages and their search terms, a piece at a time, on every core when the corpus is big.

Punkt and stemming are nearly all the cost of building from articles (about 70 s of 100 s at a
million sentences on one core), and each document is split on its own, so documents are spread
over worker processes. Workers are spawned, not forked: the bot builds in a thread beside
onnxruntime's and asyncio's, and forking a threaded process can deadlock.

Memory is bounded by a piece, not by a document: a document of several pieces is split in this
process, one piece at a time, and only a few documents are read ahead for the workers.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass

from bot.search.index.tokens import tokenize, words_and_terms
from bot.search.read.corpus import PIECE_CHARS, Document
from bot.search.read.sentences import Flow, Passage, continue_passages

# Below this much text a single process is faster than starting workers (about 1 s to spawn
# and import; 5 MB of text is about 40,000 sentences, 4 s on one core).
PARALLEL_FROM_CHARS = 5_000_000
# Documents read ahead for the workers: at most this many characters of them (their sentences and
# terms come back as well, about 25 times their size), and at most this many small ones.
_AHEAD_CHARS = 2 * PIECE_CHARS
_AHEAD_DOCUMENTS = 256


@dataclass(frozen=True)
class Split:
    """One piece's passages; for each answerable one its surface words and search terms (None otherwise)."""

    passages: list[Passage]
    terms: list[tuple[list[str], list[str]] | None]
    line_by_line: bool  # the document had no sentence punctuation, so each line became a sentence


def workers_for(chars: int) -> int:
    """How many processes to split this much text (or this many bytes of article files) over."""
    return min(os.cpu_count() or 1, 8) if chars >= PARALLEL_FROM_CHARS else 1


def split_pieces(pieces: Sequence[str], section_terms: bool = False, marked_headings: bool = False) -> Iterator[Split]:
    """A document's Splits, a piece at a time: the same passages as splitting its whole text at once.

    A document none of whose passages answers (no sentence punctuation anywhere) is read line by
    line instead. That is known when the first answering passage comes, nearly always in the first
    piece; when it comes later, the pieces before it are split again rather than held. `marked_headings`:
    the document's headings are all marked (a documentation page read from its markup; sentences.py).
    """
    splits = _splits(pieces, section_terms, line_by_line=False, marked_headings=marked_headings)
    for number, split in enumerate(splits):
        if any(passage.kind.answers for passage in split.passages):
            break
    else:
        yield from _splits(pieces, section_terms, line_by_line=True)
        return
    if number:
        yield from _splits(pieces, section_terms, line_by_line=False, marked_headings=marked_headings)
        return
    yield split
    yield from splits


def split_documents(
    documents: Iterable[Document],
    section_terms: bool = False,
    progress: Callable[[int, int], None] | None = None,
    *,
    workers: int = 1,
    total: int = 0,
) -> Iterator[tuple[Document, Iterator[Split]]]:
    """Each document with its Splits, in order; a document's Splits must be read before the next document.

    With `workers` > 1, documents of one piece are split in that many worker processes while
    this one reads ahead; `total` is what progress counts to (the documents expected).
    """
    report = progress or (lambda done, total: None)
    if workers < 2:
        for done, document in enumerate(documents, start=1):
            yield document, split_pieces(document.pieces, section_terms, document.from_markup)
            report(done, total)
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        ahead: deque[tuple[Document, Future[list[Split]] | None]] = deque()
        remaining = iter(documents)
        done = 0
        while True:
            _read_ahead(ahead, remaining, pool, section_terms)
            if not ahead:
                return
            document, future = ahead.popleft()
            yield document, iter(future.result()) if future else split_pieces(document.pieces, section_terms, document.from_markup)
            done += 1
            report(done, total)


def _read_ahead(
    ahead: deque[tuple[Document, Future[list[Split]] | None]],
    remaining: Iterator[Document],
    pool: ProcessPoolExecutor,
    section_terms: bool,
) -> None:
    """Hand workers the next small documents, up to the read-ahead bounds; never read past a big one."""
    chars = sum(len(document.pieces[0]) for document, future in ahead if future)
    while len(ahead) < _AHEAD_DOCUMENTS and chars < _AHEAD_CHARS and not (ahead and ahead[-1][1] is None):
        document = next(remaining, None)
        if document is None:
            return
        if len(document.pieces) > 1:
            ahead.append((document, None))  # split here, a piece at a time, when its turn comes
            return
        ahead.append((document, pool.submit(_split_whole, document.pieces, section_terms, document.from_markup)))
        chars += len(document.pieces[0])


def _split_whole(pieces: Sequence[str], section_terms: bool, marked_headings: bool) -> list[Split]:
    """A worker's job: a small document's Splits, all at once."""
    return list(split_pieces(pieces, section_terms, marked_headings))


def _splits(pieces: Iterable[str], section_terms: bool, *, line_by_line: bool, marked_headings: bool = False) -> Iterator[Split]:
    flow = Flow()
    for piece in pieces:
        passages, flow = continue_passages(piece, flow, lines_as_sentences=line_by_line, marked_headings=marked_headings)
        yield Split(passages, [_terms(p, section_terms) if p.kind.answers else None for p in passages], line_by_line)


def _terms(passage: Passage, section_terms: bool) -> tuple[list[str], list[str]]:
    """A sentence's words, and its terms plus its FAQ question's (and optionally its heading's)."""
    words, terms = words_and_terms(passage.text)
    if passage.prompt:
        terms += tokenize(passage.prompt)
    if section_terms and passage.section:
        terms += tokenize(passage.section)
    return words, terms
