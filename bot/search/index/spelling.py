"""Correct misspelt question words against the corpus's own vocabulary.

Only words neither the corpus nor English knows are touched, and only towards a corpus word one edit
away (a deletion, insertion, substitution or swap of neighbours), so a correct word is never changed.
A word the articles lack is not a misspelling of one they have: "bring" is not "bing", "state" not
"stake", "farms" not "firms". Turning such words into the corpus's words sent a different question to
both signals. Knowing English words (bench/quality.py, reranked): dev hit1 0.80 -> 0.85, WikiQA A
0.683/0.846 -> 0.691/0.862; the other sets within one question.

Words are found through their one-letter deletions (a symmetric-delete index). The index is kept
as two arrays, a sorted 64-bit hash of each key and the word it leads to, so it is saved with the
rest of the engine: building it took 0.8 s at a million sentences, on the first unknown word after
every restart. A hash collision only adds a candidate, which the exact one-edit check then drops.
"""

from __future__ import annotations

import functools
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from bot.search.models.embedding import MODEL_DATA
from bot.search.index.mapped import Mapped
from bot.search.index.store import pack_strings, unpack_strings

MIN_WORD_CHARS = 5


class Speller:
    def __init__(
        self, word_counts: Mapping[str, int], deletion_index: tuple[np.ndarray, np.ndarray] | None = None, *, kept: bool = False
    ) -> None:
        """`deletion_index` is `to_arrays`' saved index for these same words; without it, it is built on first use.

        `kept`: the words are a saved speller's, already the ones it keeps (filtering them again was a fifth of a load).
        """
        self.counts = dict(word_counts) if kept else {
            word: count for word, count in word_counts.items() if word.isalpha() and len(word) >= MIN_WORD_CHARS - 1
        }
        self._words = list(self.counts)  # the order the index's word numbers refer to
        self._by_deletion = deletion_index

    def correct(self, word: str) -> str | None:
        """The likeliest corpus word one edit from `word`, or None when there is none."""
        if len(word) < MIN_WORD_CHARS or not word.isalpha() or word in self.counts or word in english_words():
            return None
        keys, words = self._deletion_index()
        wanted = np.array([_key(key) for key in (word, *_deletions(word))], dtype=np.uint64)
        starts, stops = np.searchsorted(keys, wanted, "left"), np.searchsorted(keys, wanted, "right")
        found = {self._words[i] for start, stop in zip(starts.tolist(), stops.tolist()) for i in words[start:stop].tolist()}
        candidates = [known for known in found if _one_edit(word, known)]
        if not candidates:
            return None
        return max(sorted(candidates), key=lambda known: self.counts[known])

    def to_arrays(self) -> dict[str, np.ndarray]:
        """The words, their counts and the deletion index as plain arrays for `bot.search.index.store`, under "speller."."""
        blob, offsets = pack_strings(self._words)
        keys, words = self._deletion_index()
        return {
            "speller.words": blob,
            "speller.word_offsets": offsets,
            "speller.counts": np.array([self.counts[w] for w in self._words], dtype=np.int64),
            "speller.deletion_keys": keys,
            "speller.deletion_words": words,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> Speller:
        """The speller `to_arrays` saved, index included; ValueError if the arrays do not fit together.

        From a mapped file, its arrays are checked against their CRCs first: all of them are read here.
        """
        if isinstance(arrays, Mapped):
            arrays.verify(*(name for name in arrays if name.startswith("speller.")))
        words = unpack_strings(arrays["speller.words"], arrays["speller.word_offsets"])
        counts, keys, numbers = arrays["speller.counts"], arrays["speller.deletion_keys"], arrays["speller.deletion_words"]
        if counts.shape != (len(words),) or keys.dtype != np.uint64 or numbers.dtype != np.int32 or keys.shape != numbers.shape:
            raise ValueError("saved speller arrays do not fit together")
        if keys.ndim != 1 or np.any(keys[1:] < keys[:-1]) or (len(numbers) and not 0 <= numbers.min() <= numbers.max() < len(words)):
            raise ValueError("saved speller index is not sorted or names words it does not have")
        speller = cls(dict(zip(words, counts.tolist())), (keys, numbers), kept=True)
        if len(speller._words) != len(words):
            raise ValueError("saved speller words repeat")
        return speller

    def _deletion_index(self) -> tuple[np.ndarray, np.ndarray]:
        if self._by_deletion is None:
            self._by_deletion = deletion_index(self._words)
        return self._by_deletion


ENGLISH_VOCABULARY = MODEL_DATA / "all-MiniLM-L6-v2" / "tokenizer.json"


@functools.cache
def english_words() -> frozenset[str]:
    """Common English words: the whole words of the sentence model's WordPiece vocabulary (18,346 of five
    or more letters), read once from the tokenizer file the package ships. Learnt from books and Wikipedia,
    that vocabulary holds everyday words ("bring", "settle", "farms") and few misspellings.

    A missing or unreadable file means none: the speller then corrects as it did before it knew them,
    rather than fail every question with an unknown word (the sentence model, which reads the same
    file, checks it against its pin)."""
    try:
        with ENGLISH_VOCABULARY.open(encoding="utf-8") as file:
            vocabulary = json.load(file)["model"]["vocab"]
        return frozenset(word for word in vocabulary if len(word) >= MIN_WORD_CHARS and word.isascii() and word.isalpha())
    except (OSError, ValueError, KeyError, TypeError):
        return frozenset()


def deletion_index(words: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Every word's number under the hash of itself and of each of its one-letter deletions, sorted by hash."""
    pairs = [(_key(key), number) for number, known in enumerate(words) for key in (known, *_deletions(known))]
    keys = np.array([key for key, _ in pairs], dtype=np.uint64)
    order = np.argsort(keys, kind="stable")
    return keys[order], np.array([number for _, number in pairs], dtype=np.int32)[order]


def _key(text: str) -> int:
    """64 bits of hash that are the same in every process (Python's own hash() is salted per process).

    CRC-32 and Adler-32 side by side: a third of blake2b's time, and a collision only costs a candidate.
    """
    data = text.encode("utf-8")
    return zlib.crc32(data) << 32 | zlib.adler32(data)


def _deletions(word: str) -> Iterable[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


def _one_edit(a: str, b: str) -> bool:
    """Damerau distance of exactly one (the deletion index over-collects)."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        if len(diff) == 1:
            return True
        return len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1 :] == short for i in range(len(long)))
