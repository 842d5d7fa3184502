"""Deterministic English-like corpora for the benchmark, generated from a seed and never committed.

Word frequencies follow a Zipf-Mandelbrot law over ~50k pseudo-words, the shape of real
English text, so common words have long posting lists and rare words short ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

VOCABULARY_SIZE = 50_000
MEAN_SENTENCE_LENGTH = 12
COMMON_RANKS = 20
RARE_RANKS_FROM = 200
_CHUNK = 50_000

_ONSETS = ("", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
           "br", "ch", "cl", "dr", "fl", "gr", "pl", "pr", "sh", "st", "th", "tr")
_VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ee", "ou", "oo")
_CODAS = ("", "", "", "n", "r", "s", "t", "l", "nd", "st", "ng", "ck")


@dataclass(frozen=True)
class SyntheticCorpus:
    """Sentences as token lists (what the index is built from) over a ranked vocabulary."""

    words: list[str]
    documents: list[list[str]]

    def sentence(self, i: int) -> str:
        """The document as a sentence an article could contain."""
        return " ".join(self.documents[i]).capitalize() + "."


def pseudo_words(n: int, rng: np.random.Generator) -> list[str]:
    """Distinct pronounceable words, the shortest given to the most frequent ranks as in English."""
    seen: set[str] = set()
    words: list[str] = []
    while len(words) < n:
        syllables = rng.integers(1, 5)
        parts = rng.integers(0, [len(_ONSETS), len(_VOWELS), len(_CODAS)], size=(syllables, 3))
        word = "".join(_ONSETS[o] + _VOWELS[v] + _CODAS[c] for o, v, c in parts)
        if word not in seen:
            seen.add(word)
            words.append(word)
    return sorted(words, key=len)


def zipf_probabilities(n: int, exponent: float = 1.0, shift: float = 1.0) -> np.ndarray:
    """Zipf-Mandelbrot frequencies by rank: the top word is ~5% of tokens, as "the" is in English."""
    weights = 1.0 / (np.arange(n) + 1 + shift) ** exponent
    return weights / weights.sum()


def generate(n_documents: int, seed: int) -> SyntheticCorpus:
    """The same corpus for the same size and seed, on every machine."""
    rng = np.random.default_rng(seed)
    words = pseudo_words(VOCABULARY_SIZE, rng)
    lengths = np.clip(rng.poisson(MEAN_SENTENCE_LENGTH - 3, n_documents) + 3, 3, 60)
    cumulative = np.cumsum(zipf_probabilities(VOCABULARY_SIZE))
    lookup = np.array(words, dtype=object)
    documents: list[list[str]] = []
    for chunk in np.array_split(lengths, max(1, n_documents // _CHUNK)):
        ranks = np.minimum(np.searchsorted(cumulative, rng.random(int(chunk.sum()))), VOCABULARY_SIZE - 1)
        flat = lookup[ranks].tolist()
        ends = np.cumsum(chunk).tolist()
        documents.extend(flat[s:e] for s, e in zip([0, *ends[:-1]], ends))
    return SyntheticCorpus(words, documents)


def questions(corpus: SyntheticCorpus, n: int, seed: int, *, common: bool) -> list[list[str]]:
    """Questions made of a sentence's rarer words, with or without a few of the most common words.

    Each question borrows 2-4 words of rank >= RARE_RANKS_FROM from a random sentence, so
    it has a real answer; `common` adds 2-3 of the top COMMON_RANKS words, as "what is the ...
    of the ..." would.
    """
    rng = np.random.default_rng(seed)
    rank = {word: r for r, word in enumerate(corpus.words)}
    result: list[list[str]] = []
    while len(result) < n:
        document = corpus.documents[int(rng.integers(len(corpus.documents)))]
        rare = [word for word in document if rank[word] >= RARE_RANKS_FROM]
        if len(rare) < 2:
            continue
        picked = [rare[i] for i in rng.permutation(len(rare))[: rng.integers(2, 5)]]
        if common:
            picked += [corpus.words[i] for i in rng.integers(0, COMMON_RANKS, rng.integers(2, 4))]
        result.append([picked[i] for i in rng.permutation(len(picked))])
    return result


def write_articles(corpus: SyntheticCorpus, folder: Path, *, per_article: int = 200, per_paragraph: int = 5) -> None:
    """The corpus as the engine reads it: .txt articles of a title line and paragraphs of sentences."""
    folder.mkdir(parents=True, exist_ok=True)
    n = len(corpus.documents)
    for number, first in enumerate(range(0, n, per_article)):
        last = min(first + per_article, n)
        paragraphs = [
            " ".join(corpus.sentence(i) for i in range(start, min(start + per_paragraph, last)))
            for start in range(first, last, per_paragraph)
        ]
        text = f"Synthetic article {number}\n\n" + "\n\n".join(paragraphs) + "\n"
        (folder / f"{number:05d}.txt").write_text(text, encoding="utf-8")
