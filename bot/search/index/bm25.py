"""The BM25 index of sentences: rank-bm25's scores, computed from numpy posting lists.

rank-bm25 walks every document in Python for every query term (about 1 s a query at a
million sentences). Here each term owns a slice of two flat arrays, the ids of the
documents that contain it and how often, so a query only touches its own terms' postings;
and when a question mixes rare and very common words, the common words' long lists are
only searched for the documents the rare words found (see `BM25Index._pruned`).
Weights are computed in float64 at query time from compact term frequencies (a byte per
posting for sentences): that keeps the index small and the scores equal to rank-bm25's.
"""

from __future__ import annotations

import math
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import NamedTuple

import numpy as np

from bot.search.index.mapped import Mapped
from bot.search.index.store import pack_strings, unpack_strings

VARIANTS = ("okapi", "l", "plus")
_DEFAULT_DELTA = {"okapi": 0.0, "l": 0.5, "plus": 1.0}
_BATCH = 1 << 16  # documents sorted at a time while building; bounds the temporary arrays
_SAMPLE = 1024  # postings sampled to find a floor for the k-th best score
_COMMON = 32  # a term in more than 1/32 of the documents is looked up, not scanned, when it can be
_BLOCK = 1 << 20  # postings weighed at a time when finding each term's largest weight


@dataclass(frozen=True)
class BM25Params:
    """Which rank-bm25 class to reproduce (BM25Okapi, BM25L, BM25Plus) and its parameters."""

    variant: str = "okapi"
    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25
    delta: float = 0.0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown BM25 variant {self.variant!r}; expected one of {', '.join(VARIANTS)}")
        # Outside these ranges a term's weight stops growing with its frequency and shrinking
        # with the document's length, and top_k's upper bounds would no longer hold.
        if self.k1 < 0 or not 0 <= self.b <= 1 or self.delta < 0:
            raise ValueError(f"BM25 needs k1 >= 0, 0 <= b <= 1 and delta >= 0; got {self}")


class BM25Index:
    """Term -> postings, with the same idf and length normalisation as rank-bm25."""

    def __init__(
        self,
        terms: Iterable[str],
        offsets: np.ndarray,
        doc_ids: np.ndarray,
        term_frequencies: np.ndarray,
        doc_lengths: np.ndarray,
        params: BM25Params,
        upper_bound: np.ndarray | None = None,
        saved: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """Wrap arrays that `build` or `from_arrays` have checked; use those instead.

        With `saved` (the arrays `from_arrays` read), each term's postings are checked the first time
        it is used rather than all at load; `upper_bound` is each term's largest weight, saved with them.
        """
        self.vocabulary: Mapping[str, int] = {term: i for i, term in enumerate(terms)}
        self.params = params
        self._offsets = offsets
        self._doc_ids = doc_ids
        self._tf = term_frequencies
        self._doc_lengths = doc_lengths
        self.average_length = int(doc_lengths.sum()) / len(doc_lengths)
        self._df = np.diff(offsets)
        self._idf = _idf(params, self._df, len(doc_lengths))
        # rank-bm25's length normalisation, with its exact order of operations.
        norm = (1 - params.b) + params.b * doc_lengths / self.average_length
        self._norm = norm if params.variant == "l" else params.k1 * norm
        self._upper_bound = np.maximum(self._largest_weights(), 0) if upper_bound is None else upper_bound
        self._saved = saved if isinstance(saved, Mapped) else None
        self._unchecked = None if saved is None else np.ones(len(self._df), dtype=bool)

    @classmethod
    def build(
        cls,
        documents: Iterable[Sequence[str]],
        *,
        variant: str = "okapi",
        k1: float = 1.5,
        b: float = 0.75,
        epsilon: float = 0.25,
        delta: float | None = None,
    ) -> BM25Index:
        """Index tokenized documents; empty ones count in N and the average length, as in rank-bm25.

        `documents` is read once, a document at a time, so a generator avoids holding token lists. `delta` defaults to rank-bm25's: 0.5 for BM25L, 1 for BM25Plus.
        """
        params = BM25Params(variant, k1, b, epsilon, _DEFAULT_DELTA.get(variant, 0.0) if delta is None else delta)
        vocabulary: defaultdict[str, int] = defaultdict()
        vocabulary.default_factory = vocabulary.__len__  # a new term gets the next id
        batches: list[_Batch] = []
        n_documents = 0
        for token_ids, lengths in _token_batches(documents, vocabulary):
            batches.append(_Batch.of(token_ids, lengths, n_documents, len(vocabulary)))
            n_documents += len(lengths)
        if not vocabulary:
            raise ValueError("cannot index documents that contain no terms at all")
        doc_lengths = np.concatenate([batch.lengths for batch in batches])
        offsets, doc_ids, tf = _merge(batches, len(vocabulary))
        return cls(vocabulary, offsets, doc_ids, tf, doc_lengths, params)

    def __len__(self) -> int:
        return len(self._doc_lengths)

    @property
    def document_lengths(self) -> np.ndarray:
        """Tokens per document (a read-only view)."""
        view = self._doc_lengths.view()
        view.flags.writeable = False
        return view

    def document_frequency(self, term: str) -> int:
        """How many documents contain `term` (0 if it is unknown)."""
        t = self.vocabulary.get(term)
        return 0 if t is None else int(self._df[t])

    def idf(self, term: str) -> float:
        """The variant's idf as rank-bm25 computes it, Okapi's epsilon floor included; 0 if unknown."""
        t = self.vocabulary.get(term)
        return 0.0 if t is None else float(self._idf[t])

    def scores(self, query_tokens: Sequence[str]) -> np.ndarray:
        """One score per document, equal to rank-bm25's `get_scores` (a repeated token counts again)."""
        terms = self._term_ids(query_tokens)
        return self._dense_totals(terms) + self._constant(terms)

    def top_k(self, query_tokens: Sequence[str], k: int) -> list[tuple[int, float]]:
        """The best `k` documents that contain a query term, by score descending, then lower id first.

        Documents without any query term are never returned, even when BM25Plus gives them
        a positive score. Scores are those of `scores`.
        """
        terms = self._term_ids(query_tokens)
        if k <= 0 or not terms:
            return []
        candidates, totals = self._pruned(terms, k) or self._exhaustive(terms, k)
        best = _best(totals, k)
        return [(int(d), float(s)) for d, s in zip(candidates[best], totals[best] + self._constant(terms))]

    def scores_of(self, query_tokens: Sequence[str], docs: np.ndarray) -> np.ndarray:
        """`scores(query_tokens)[docs]`, touching only those documents' postings."""
        terms = self._term_ids(query_tokens)
        return self._sparse_totals(terms, np.asarray(docs)) + self._constant(terms)

    def _term_ids(self, query_tokens: Sequence[str]) -> list[int]:
        """The known tokens' term ids, in query order and with repeats: unknown tokens add nothing."""
        return [self.vocabulary[token] for token in query_tokens if token in self.vocabulary]

    def _postings(self, t: int) -> slice:
        if self._unchecked is not None and self._unchecked[t]:
            self._check_postings(t)
        return slice(self._offsets[t], self._offsets[t + 1])

    def _check_postings(self, t: int) -> None:
        """The invariants `build` guarantees, for one saved term's postings: checked the first time it is used.

        Checking every posting at load read the whole index (0.2 s at a million sentences); a term's
        own postings are read anyway when a question uses it. In a mapped file their blocks' CRCs are
        checked too, so damage is refused before it can change a score.
        """
        start, stop = int(self._offsets[t]), int(self._offsets[t + 1])
        if self._saved is not None:
            self._saved.check("bm25.doc_ids", start, stop)
            self._saved.check("bm25.tf", start, stop)
        docs = self._doc_ids[start:stop]
        reason = None
        if docs[0] < 0 or docs[-1] >= len(self):
            reason = "index postings refer to documents that do not exist"
        elif np.any(docs[1:] <= docs[:-1]):
            reason = "index postings of a term must list each document once, in ascending order"
        elif self._tf[start:stop].min() < 1:
            reason = "index term frequencies must be at least 1"
        if reason is not None:
            raise self._saved.damaged(f"{reason} (term {t})") if self._saved is not None else ValueError(reason)
        self._unchecked[t] = False

    def _weights(self, t: int, postings: slice | np.ndarray) -> np.ndarray:
        """Term t's weight in the documents of some of its postings (a slice, or positions)."""
        tf = self._tf[postings].astype(np.float64)
        return _weigh(self.params, self._idf[t], tf, self._norm[self._doc_ids[postings]])

    def _largest_weights(self) -> np.ndarray:
        """Each term's largest weight in any document, computed a block of terms at a time to bound memory."""
        largest = np.empty(len(self._df))
        block_starts = np.searchsorted(self._offsets, np.arange(0, self._offsets[-1], _BLOCK), side="right") - 1
        for first, last in zip(block_starts, [*block_starts[1:], len(self._df)]):
            if first == last:
                continue
            postings = slice(self._offsets[first], self._offsets[last])
            idf = np.repeat(self._idf[first:last], self._df[first:last])
            tf = self._tf[postings].astype(np.float64)
            weights = _weigh(self.params, idf, tf, self._norm[self._doc_ids[postings]])
            largest[first:last] = np.maximum.reduceat(weights, self._offsets[first:last] - self._offsets[first])
        return largest

    def _constant(self, terms: list[int]) -> float:
        """What BM25Plus adds to every document, with or without the terms: idf * delta per term."""
        return sum(self._idf[t] * self.params.delta for t in terms) if self.params.variant == "plus" else 0.0

    def _dense_totals(self, terms: list[int]) -> np.ndarray:
        """Per document, its terms' weights added in query order (0 where it has none)."""
        totals = np.zeros(len(self))
        weights: dict[int, np.ndarray] = {}
        for t in terms:
            postings = self._postings(t)
            if t not in weights:
                weights[t] = self._weights(t, postings)
            totals[self._doc_ids[postings]] += weights[t]
        return totals

    def _exhaustive(self, terms: list[int], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Every posting of every term scored; then only documents that can be in the top k kept."""
        totals = self._dense_totals(terms)
        candidates = _shortlist(totals, [self._doc_ids[self._postings(t)] for t in set(terms)], k)
        return candidates, totals[candidates]

    def _pruned(self, terms: list[int], k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The top-k candidates found from the rarer terms' postings alone, if the common terms cannot change them.

        A document with none of the rarer terms scores at most the sum of the common terms'
        upper bounds. Once k documents that have a rarer term score more than that, the
        common terms' long postings need only be searched for those documents (MaxScore).
        None if that does not hold, or if the query lacks common or rare terms.
        """
        common = {t for t in terms if self._df[t] * _COMMON > len(self)}
        rare = set(terms) - common
        if not common or not rare:
            return None
        candidates = np.unique(np.concatenate([self._doc_ids[self._postings(t)] for t in rare]))
        if len(candidates) < k:
            return None
        totals = self._sparse_totals(terms, candidates)
        kth_best = np.partition(totals, len(totals) - k)[len(totals) - k]
        ceiling = sum(self._upper_bound[t] for t in terms if t in common)
        return (candidates, totals) if ceiling * (1 + 1e-9) < kth_best else None

    def _sparse_totals(self, terms: list[int], candidates: np.ndarray) -> np.ndarray:
        """`_dense_totals` for just these (ascending) documents, found by binary search in each posting list."""
        totals = np.zeros(len(candidates))
        candidates = candidates.astype(self._doc_ids.dtype)  # else numpy widens each whole posting list to compare
        found: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for t in terms:
            if t not in found:
                postings = self._postings(t)
                docs = self._doc_ids[postings]
                at = np.minimum(np.searchsorted(docs, candidates), len(docs) - 1)
                has = docs[at] == candidates
                found[t] = has, self._weights(t, postings.start + at[has])
            has, weights = found[t]
            totals[has] += weights
        return totals

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain numeric arrays (no objects) for `bot.search.index.store`, under names starting "bm25."."""
        blob, string_offsets = pack_strings(list(self.vocabulary))
        p = self.params
        return {
            "bm25.variant": np.array(p.variant),
            "bm25.params": np.array([p.k1, p.b, p.epsilon, p.delta]),
            "bm25.terms": blob,
            "bm25.term_offsets": string_offsets,
            "bm25.offsets": self._offsets,
            "bm25.doc_ids": self._doc_ids,
            "bm25.tf": self._tf,
            "bm25.doc_lengths": self._doc_lengths,
            "bm25.upper_bound": self._upper_bound,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> BM25Index:
        """Rebuild an index from `to_arrays` output; other keys are ignored so it can share a file.

        Raises ValueError naming the first missing, mistyped or inconsistent array. Only the arrays sized
        by the vocabulary are read here; each term's postings are checked when it is first used (ValueError,
        or StoreError from a mapped file, which is then removed), so a memory-mapped index loads at once.
        """
        missing = [name for name in _ARRAY_TYPES if name not in arrays]
        if missing:
            raise ValueError(f"index arrays missing: {', '.join(missing)}")
        for name, expected in _ARRAY_TYPES.items():
            a = arrays[name]
            right_type = a.dtype.kind == expected if isinstance(expected, str) else a.dtype == expected
            if not right_type or a.ndim != (0 if name == "bm25.variant" else 1):
                raise ValueError(f"index array {name} has the wrong type or shape ({a.dtype}, {a.shape})")
        offsets, doc_ids, tf = arrays["bm25.offsets"], arrays["bm25.doc_ids"], arrays["bm25.tf"]
        doc_lengths = arrays["bm25.doc_lengths"]
        params_values = arrays["bm25.params"]
        if len(params_values) != 4:
            raise ValueError("index array bm25.params must hold k1, b, epsilon, delta")
        params = BM25Params(str(arrays["bm25.variant"]), *map(float, params_values))
        if isinstance(arrays, Mapped):
            arrays.verify("bm25.terms", "bm25.term_offsets", "bm25.offsets", "bm25.doc_lengths", "bm25.upper_bound")
        terms = unpack_strings(arrays["bm25.terms"], arrays["bm25.term_offsets"])
        upper_bound = arrays["bm25.upper_bound"]
        _check_consistent(terms, offsets, doc_ids, tf, doc_lengths, upper_bound)
        return cls(terms, offsets, doc_ids, tf, doc_lengths, params, upper_bound, arrays)


# The dtype each array must have, or its kind where any width will do ("U" text, "u" unsigned).
_ARRAY_TYPES: dict[str, np.dtype | str] = {
    "bm25.variant": "U",
    "bm25.params": np.dtype(np.float64),
    "bm25.terms": np.dtype(np.uint8),
    "bm25.term_offsets": np.dtype(np.int64),
    "bm25.offsets": np.dtype(np.int64),
    "bm25.doc_ids": np.dtype(np.int32),
    "bm25.tf": "u",
    "bm25.doc_lengths": np.dtype(np.int32),
    "bm25.upper_bound": np.dtype(np.float64),
}


def _check_consistent(
    terms: list[str], offsets: np.ndarray, doc_ids: np.ndarray, tf: np.ndarray, doc_lengths: np.ndarray, upper_bound: np.ndarray
) -> None:
    """The invariants `build` guarantees that the vocabulary-sized arrays show; the postings' own wait for their term."""
    if not terms or len(set(terms)) != len(terms):
        raise ValueError("index vocabulary is empty or has duplicate terms")
    if len(offsets) != len(terms) + 1 or offsets[0] != 0 or offsets[-1] != len(doc_ids):
        raise ValueError("index posting offsets do not match the vocabulary and postings")
    if np.any(np.diff(offsets) < 1):
        raise ValueError("index posting offsets must give every term at least one posting")
    if len(tf) != len(doc_ids):
        raise ValueError("index has a different number of doc ids and term frequencies")
    if len(doc_lengths) == 0 or doc_lengths.min() < 0:
        raise ValueError("index has no documents, or one of negative length")
    if len(upper_bound) != len(terms) or not np.all(upper_bound >= 0):
        raise ValueError("index upper bounds do not fit the vocabulary")


def _token_batches(
    documents: Iterable[Sequence[str]], vocabulary: defaultdict[str, int]
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Term ids of the tokens, and the lengths, of successive batches of documents.

    Each document's tokens become ids as soon as it is read: a batch holds 4 bytes a token, never
    its documents' token lists (about 60 MB for 65,536 sentences as lists of strings).
    """
    remaining = iter(documents)
    while True:
        lengths, token_ids = array("i"), array("i")
        for tokens in islice(remaining, _BATCH):
            lengths.append(len(tokens))
            token_ids.extend(map(vocabulary.__getitem__, tokens))
        if not lengths:
            return
        yield np.frombuffer(token_ids, dtype=np.int32), np.frombuffer(lengths, dtype=np.int32)


class _Batch(NamedTuple):
    """The postings of a run of documents, grouped by term id, each group in document order."""

    lengths: np.ndarray
    counts: np.ndarray  # postings per term id
    doc_ids: np.ndarray
    tf: np.ndarray

    @classmethod
    def of(cls, token_ids: np.ndarray, lengths: np.ndarray, first_doc: int, n_terms: int) -> _Batch:
        """Sort one (term, document) key per token; equal neighbours repeat a term in a document."""
        n = len(lengths)
        keys = token_ids.astype(np.int64) * n + np.repeat(np.arange(n, dtype=np.int64), lengths)
        keys.sort()
        first = np.ones(len(keys), dtype=bool)
        np.not_equal(keys[1:], keys[:-1], out=first[1:])
        starts = np.flatnonzero(first)
        tf = np.diff(starts, append=len(keys))
        pairs = keys[starts]
        counts = np.bincount(pairs // n, minlength=n_terms).astype(np.int32)
        doc_ids = (pairs % n + first_doc).astype(np.int32)
        return cls(lengths, counts, doc_ids, tf.astype(np.min_scalar_type(tf.max(initial=0))))


def _merge(batches: list[_Batch], n_terms: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenate the batches' postings term by term: (offsets, doc ids, tf).

    Each term's postings from later batches go right after those from earlier ones, so the
    merged lists stay in document order without a global sort. Batches are released as
    they are placed, which keeps the peak near one copy of the postings.
    """
    df = np.zeros(n_terms, dtype=np.int64)
    for batch in batches:
        df[: len(batch.counts)] += batch.counts
    offsets = np.zeros(n_terms + 1, dtype=np.int64)
    np.cumsum(df, out=offsets[1:])
    doc_ids = np.empty(offsets[-1], dtype=np.int32)
    tf = np.empty(offsets[-1], dtype=np.result_type(*(batch.tf.dtype for batch in batches)))
    filled = offsets[:-1].copy()
    while batches:
        batch = batches.pop(0)
        counts = batch.counts
        group_starts = np.cumsum(counts) - counts
        destination = np.repeat(filled[: len(counts)] - group_starts, counts) + np.arange(len(batch.doc_ids))
        doc_ids[destination] = batch.doc_ids
        tf[destination] = batch.tf
        filled[: len(counts)] += counts
    return offsets, doc_ids, tf


def _idf(params: BM25Params, document_frequency: np.ndarray, n: int) -> np.ndarray:
    """Each term's idf by the variant's formula in rank-bm25, including Okapi's epsilon floor.

    Okapi's idf is negative for a term in more than half the documents; rank-bm25 replaces
    those with epsilon times the average idf (taken before flooring). A term in exactly half
    keeps idf 0.
    """
    df = document_frequency.astype(np.float64)
    if params.variant == "okapi":
        idf = np.log(n - df + 0.5) - np.log(df + 0.5)
        idf[idf < 0] = params.epsilon * (math.fsum(idf) / len(idf))
        return idf
    if params.variant == "l":
        return math.log(n + 1) - np.log(df + 0.5)
    return np.log((n + 1) / df)


def _weigh(params: BM25Params, idf: float | np.ndarray, tf: np.ndarray, norm: np.ndarray) -> np.ndarray:
    """A term's weight in documents, given its tf and their length norm, as rank-bm25 computes it.

    Same formula and order of operations, so Okapi's scores come out bit for bit; BM25Plus's
    idf * delta is left out (see `BM25Index._constant`). Overwrites `tf` and `norm`.
    """
    if params.variant == "l":
        ctd = tf / norm
        return idf * tf * (params.k1 + 1) * (ctd + params.delta) / (params.k1 + ctd + params.delta)
    # idf * (tf * (k1 + 1) / (tf + norm)), in place: common terms have long postings.
    norm += tf
    tf *= params.k1 + 1
    tf /= norm
    tf *= idf
    return tf


def _shortlist(totals: np.ndarray, doc_ids: list[np.ndarray], k: int) -> np.ndarray:
    """Ascending ids of documents that contain a query term, among them all of the k best; few, usually.

    Any k distinct matching documents put a floor under the k-th best total, so a strided
    sample of the longest posting list gives one, and one comparison over `totals` keeps
    the documents at or above it. A floor above 0 also leaves out every document without a
    query term (their total is 0). Without one (too few postings, or Okapi's idf of 0 or
    below) every matching document is a candidate.
    """
    longest = max(doc_ids, key=len)
    sample = totals[longest[:: len(longest) // _SAMPLE + 1]]
    if len(sample) >= k:
        floor = np.partition(sample, len(sample) - k)[len(sample) - k]
        if floor > 0:
            return np.flatnonzero(totals >= floor)
    return np.unique(np.concatenate(doc_ids))


def _best(totals: np.ndarray, k: int) -> np.ndarray:
    """Positions of the k largest totals, largest first, ties in position order.

    argpartition finds the k-th largest value without sorting everything; of the values
    equal to it, only the earliest positions are kept, so ties favour lower document ids.
    """
    if len(totals) > k:
        threshold = totals[np.argpartition(totals, len(totals) - k)[len(totals) - k]]
        above = np.flatnonzero(totals > threshold)
        ties = np.flatnonzero(totals == threshold)[: k - len(above)]
        chosen = np.concatenate([above, ties])
    else:
        chosen = np.arange(len(totals))
    return chosen[np.lexsort((chosen, -totals[chosen]))]
