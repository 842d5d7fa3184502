"""A saved engine, reused only while the corpus, the settings and the search code are unchanged.

The fingerprint hashes every article file's bytes, the metadata file, the engine settings and
the source of the search modules themselves, so editing an article or upgrading the bot
rebuilds the index instead of serving a stale one. A file's hash is taken from the stat record
beside the index (bot.search.index.file_hashes) while its size and times are unchanged, so a restart
reads only the files that changed.

Sentence vectors live beside the index (bot.search.index.vectors), one file per model, each
row under a hash of the text the model read. So a vector is reused exactly when the same model
would be given the same text again: after an edit only new sentences are embedded, and neither
switching the semantic signal off and on nor trying another model throws any vectors away, or
rebuilds BM25.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING

import numpy as np

from bot.search.index.bm25 import BM25Index
from bot.search.index.file_hashes import RECORD_FILE, FileHashes
from bot.search.index.spelling import Speller
from bot.search.index.mapped import load_mapped, save_mapped
from bot.search.index.table import SentenceTable
from bot.search.read.corpus import (
    ARTICLE_SUFFIXES,
    MAX_FILE_BYTES,
    METADATA_FILE,
    Article,
    site_files,
)

if TYPE_CHECKING:
    from bot.search.engine import Engine, SearchSettings

CACHE_FILE = "engine.mapped"
OLD_CACHE_FILE = "engine.npz"  # the saved engine before it was memory-mapped
_SEARCH_CODE = Path(__file__).resolve().parent


def fingerprint(folder: Path, settings: SearchSettings, cache_dir: Path | None = None) -> str:
    """A digest of everything an engine built from `folder` depends on.

    With `cache_dir`, a file whose stat is unchanged since it was last hashed there is not read
    again (see bot.search.index.file_hashes); the digest is the same either way.
    """
    digest = hashlib.sha256()
    digest.update(json.dumps(asdict(settings), sort_keys=True).encode())
    for source in sorted(_SEARCH_CODE.rglob("*.py")):
        digest.update(source.relative_to(_SEARCH_CODE).as_posix().encode() + b"\0" + source.read_bytes())
    hashes = FileHashes(folder, cache_dir and cache_dir / RECORD_FILE)
    base = os.path.join(folder, "")
    for name in site_files(folder, settings.ignore).files:
        if os.path.splitext(name)[1].lower() not in ARTICLE_SUFFIXES and name != METADATA_FILE:
            continue
        digest.update(b"\0" + name.encode() + b"\0")
        try:
            stat = os.stat(base + name)  # not pathlib: its parsing was a third of a 25,000-file pass
            digest.update(str(stat.st_size).encode())
            if S_ISREG(stat.st_mode) and stat.st_size <= MAX_FILE_BYTES:
                digest.update(bytes.fromhex(hashes.digest(name, stat)))
        except OSError as error:
            digest.update(f"unreadable {error.errno}".encode())
    with contextlib.suppress(OSError):  # unrecorded, the changed files are only hashed again next time
        hashes.save()
    return digest.hexdigest()


def save(engine: Engine, path: Path, fingerprint: str) -> None:
    """The engine's arrays, memory-mapped at the next start (bot.search.index.mapped); the previous version's file goes."""
    meta = {
        "fingerprint": fingerprint,
        "articles": [asdict(article) for article in engine.sources()],
        "warnings": list(engine.warnings),
    }
    arrays = {
        "indexed": engine.indexed,
        **engine.speller.to_arrays(),
        **engine.table.to_arrays(),
        **engine.index.to_arrays(),
    }
    save_mapped(path, arrays, meta)
    with contextlib.suppress(OSError):  # a leftover: the next save tries again
        (path.parent / OLD_CACHE_FILE).unlink(missing_ok=True)


def load(path: Path, fingerprint: str, settings: SearchSettings) -> Engine | None:
    """The saved engine (without its semantic signal), None if there is none or it is stale.

    StoreError or ValueError if it cannot be trusted. Its arrays stay memory-mapped: the postings and the
    sentence text are read (and checked) only as questions reach them, and StoreError then names any damage.
    """
    from bot.search.engine import Engine

    arrays = load_mapped(path, {})
    if arrays is None:
        return None
    try:
        if arrays.meta.get("fingerprint") != fingerprint:
            return None
        articles = [Article(**fields) for fields in arrays.meta["articles"]]
        speller = Speller.from_arrays(arrays)
        table = SentenceTable.from_arrays(arrays)
        indexed = arrays["indexed"]
        if indexed.dtype != np.int32 or indexed.ndim != 1:
            raise ValueError(f"saved engine's indexed sentences are {indexed.dtype} {indexed.shape}, expected 1-D int32")
        arrays.verify("indexed")
        return Engine(articles, table, BM25Index.from_arrays(arrays), indexed, speller, settings, arrays.meta["warnings"])
    except (KeyError, TypeError) as error:
        raise ValueError(f"saved engine is incomplete ({error})") from error
