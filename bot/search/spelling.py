"""Correct misspelt question words against the corpus's own vocabulary.

Only words the corpus does not know are touched, and only towards a corpus word one edit away
(a deletion, insertion, substitution or swap of neighbours), so a correct word is never changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

MIN_WORD_CHARS = 5


class Speller:
    def __init__(self, word_counts: Mapping[str, int]) -> None:
        self.counts = {word: count for word, count in word_counts.items() if word.isalpha() and len(word) >= MIN_WORD_CHARS - 1}
        self._by_deletion: dict[str, list[str]] | None = None

    def correct(self, word: str) -> str | None:
        """The likeliest corpus word one edit from `word`, or None when there is none."""
        if len(word) < MIN_WORD_CHARS or not word.isalpha() or word in self.counts:
            return None
        candidates = {
            known
            for key in (word, *_deletions(word))
            for known in self._deletion_index().get(key, ())
            if _one_edit(word, known)
        }
        if not candidates:
            return None
        return max(sorted(candidates), key=lambda known: self.counts[known])

    def _deletion_index(self) -> dict[str, list[str]]:
        """Every known word under itself and its one-letter deletions (built on first use)."""
        if self._by_deletion is None:
            index: dict[str, list[str]] = {}
            for known in self.counts:
                for key in (known, *_deletions(known)):
                    index.setdefault(key, []).append(known)
            self._by_deletion = index
        return self._by_deletion


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
