"""Split documents into passages and their search terms, on every core when the corpus is big.

Punkt and stemming are nearly all the cost of building from articles (about 70 s of 100 s at a
million sentences on one core), and each document is split on its own, so documents are spread
over worker processes. Workers are spawned, not forked: the bot builds in a thread beside
onnxruntime's and asyncio's, and forking a threaded process can deadlock.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from bot.search.read.sentences import Passage, split_passages
from bot.search.tokens import tokenize, words_and_terms

# Below this much text a single process is faster than starting workers (about 1 s to spawn
# and import; 5 MB of text is about 40,000 sentences, 4 s on one core).
PARALLEL_FROM_CHARS = 5_000_000
_CHUNK = 64  # documents sent to a worker at a time


@dataclass(frozen=True)
class Split:
    """One document's passages; for each answerable one its surface words and search terms (None otherwise)."""

    passages: list[Passage]
    terms: list[tuple[list[str], list[str]] | None]
    line_by_line: bool  # the text had no sentence punctuation, so each line became a sentence


def split_document(text: str, section_terms: bool = False) -> Split:
    passages = split_passages(text)
    line_by_line = not any(passage.kind.answers for passage in passages)
    if line_by_line:
        passages = split_passages(text, lines_as_sentences=True)
    return Split(passages, [_terms(p, section_terms) if p.kind.answers else None for p in passages], line_by_line)


def split_all(
    texts: Sequence[str], section_terms: bool = False, progress: Callable[[int, int], None] | None = None
) -> Iterator[Split]:
    """Every text's Split, in order; over worker processes when there is enough text to pay for them."""
    workers = min(os.cpu_count() or 1, 8)
    report = progress or (lambda done, total: None)
    if workers < 2 or sum(map(len, texts)) < PARALLEL_FROM_CHARS:
        for done, text in enumerate(texts, start=1):
            split = split_document(text, section_terms)
            report(done, len(texts))
            yield split
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        splits = pool.map(split_document, texts, [section_terms] * len(texts), chunksize=_CHUNK)
        for done, split in enumerate(splits, start=1):
            report(done, len(texts))
            yield split


def _terms(passage: Passage, section_terms: bool) -> tuple[list[str], list[str]]:
    """A sentence's words, and its terms plus its FAQ question's (and optionally its heading's)."""
    words, terms = words_and_terms(passage.text)
    if passage.prompt:
        terms += tokenize(passage.prompt)
    if section_terms and passage.section:
        terms += tokenize(passage.section)
    return words, terms
