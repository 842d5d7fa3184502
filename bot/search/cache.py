"""A saved engine, reused only while the corpus, the settings and the search code are unchanged.

The fingerprint hashes every article file's bytes, the metadata file, the engine settings and
the source of the search modules themselves, so editing an article or upgrading the bot
rebuilds the index instead of serving a stale one. Sentence vectors are saved beside the
index with the checksum of the model that made them, and reused only for that same model:
turning the semantic signal off and on again, or changing the model, never rebuilds BM25.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bot.search.corpus import ARTICLE_SUFFIXES, MAX_FILE_BYTES, METADATA_FILE, Article
from bot.search.index import BM25Index
from bot.search.spelling import Speller
from bot.search.store import load_arrays, pack_strings, save_arrays, unpack_strings
from bot.search.table import SentenceTable

if TYPE_CHECKING:
    from bot.search.engine import Engine, SearchSettings

# Vectors are stored as float16 (half the disk; cosine changes by under 0.001) and searched as float32.
VECTOR_DTYPE = np.float16

CACHE_FILE = "engine.npz"
_SEARCH_CODE = Path(__file__).resolve().parent


def fingerprint(folder: Path, settings: SearchSettings) -> str:
    """A digest of everything an engine built from `folder` depends on."""
    digest = hashlib.sha256()
    digest.update(json.dumps(asdict(settings), sort_keys=True).encode())
    for source in sorted(_SEARCH_CODE.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() not in ARTICLE_SUFFIXES and path.name != METADATA_FILE:
            continue
        digest.update(b"\0" + path.name.encode() + b"\0")
        try:
            size = path.stat().st_size
            digest.update(str(size).encode())
            if path.is_file() and size <= MAX_FILE_BYTES:
                with path.open("rb") as file:
                    digest.update(hashlib.file_digest(file, "sha256").digest())
        except OSError as error:
            digest.update(f"unreadable {error.errno}".encode())
    return digest.hexdigest()


def save(engine: Engine, path: Path, fingerprint: str) -> None:
    speller_words = list(engine.speller.counts)
    word_blob, word_offsets = pack_strings(speller_words)
    header = {
        "fingerprint": fingerprint,
        "articles": [asdict(article) for article in engine.sources()],
        "warnings": list(engine.warnings),
    }
    vectors = {}
    if engine.vectors is not None:
        header["vectors_model"] = engine.semantic_status.sha256
        vectors["vectors"] = engine.vectors.astype(VECTOR_DTYPE)
    arrays = {
        "header": np.array(json.dumps(header)),
        "indexed": engine.indexed,
        "speller.words": word_blob,
        "speller.word_offsets": word_offsets,
        "speller.counts": np.array([engine.speller.counts[w] for w in speller_words], dtype=np.int64),
        **engine.table.to_arrays(),
        **engine.index.to_arrays(),
        **vectors,
    }
    save_arrays(path, arrays, {"fingerprint": fingerprint})


@dataclass(frozen=True)
class Saved:
    """A saved engine (without its semantic signal), its sentence vectors by model checksum, and
    whether it was built from the articles and settings as they are now (`fresh`). A stale one is
    still worth reading: the vectors of sentences that did not change need not be embedded again.
    """

    engine: Engine
    vectors: dict[str, np.ndarray]
    fresh: bool


def load(path: Path, fingerprint: str, settings: SearchSettings) -> Saved | None:
    """What is saved at `path`; None if nothing is; StoreError or ValueError if it cannot be trusted."""
    from bot.search.engine import Engine

    arrays = load_arrays(path, {})
    if arrays is None:
        return None
    try:
        header = json.loads(str(arrays["header"]))
        articles = [Article(**fields) for fields in header["articles"]]
        words = unpack_strings(arrays["speller.words"], arrays["speller.word_offsets"])
        speller = Speller(dict(zip(words, arrays["speller.counts"].tolist())))
        table = SentenceTable.from_arrays(arrays)
        indexed = arrays["indexed"].astype(np.int32, copy=False)
        engine = Engine(articles, table, BM25Index.from_arrays(arrays), indexed, speller, settings, header["warnings"])
        vectors = {}
        if "vectors" in arrays:
            saved = arrays["vectors"]
            if saved.dtype != VECTOR_DTYPE or saved.ndim != 2 or len(saved) != len(indexed):
                raise ValueError("saved sentence vectors do not fit the index")
            vectors[str(header["vectors_model"])] = saved.astype(np.float32)
        return Saved(engine, vectors, header["fingerprint"] == fingerprint)
    except (KeyError, TypeError, json.JSONDecodeError) as error:
        raise ValueError(f"saved engine is incomplete ({error})") from error
