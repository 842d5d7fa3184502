"""The engine the bot answers from, with a short version of the articles it was built from.

Buttons under an answer hold sentence ids and article numbers, which only mean something in the
corpus they came from: adding one article can renumber them all. So each button also holds the
version, and a click resolves its ids only against the same version. The version is derived from
what the engine already exposes (each article's file and sentence count, and the sentence table's
arrays), so it is the same after a restart over the same articles and different after any change.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import numpy as np

from bot.search.engine import Engine

VERSION_CHARS = 8  # hex digits: one chance in four billion that two corpora share a version


@dataclass(frozen=True)
class Serving:
    """An engine and its corpus version, swapped together (never one without the other) on reload."""

    engine: Engine
    version: str

    @classmethod
    def of(cls, engine: Engine) -> Serving:
        """Hashes the whole sentence table (about 0.1 s for a million sentences): call it off the event loop."""
        return cls(engine, corpus_version(engine))


def corpus_version(engine: Engine) -> str:
    """A digest of the articles (file, sentence count, in order) and every sentence's text, article and kind."""
    digest = hashlib.sha256()
    articles = [[article.file, article.sentence_count] for article in engine.sources()]
    digest.update(json.dumps(articles).encode())
    table = engine.table
    for array in (table.text_blob, table.text_offsets, table.articles, table.kinds):
        digest.update(b"\0")
        digest.update(memoryview(np.ascontiguousarray(array)).cast("B"))
    return digest.hexdigest()[:VERSION_CHARS]
