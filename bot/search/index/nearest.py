"""The sentences nearest a question's vector, searched among every sentence's int8 row.

Exact search: each row's cosine, a chunk of rows at a time so a memory-mapped matrix is never
copied whole into memory.
"""

from __future__ import annotations

import numpy as np

from bot.search.index.vectors import SCALE

CHUNK = 65_536  # rows turned to float32 at a time: 100 MB of float32 at most, each chunk's 25 MB


def cosines(rows: np.ndarray, question: np.ndarray) -> np.ndarray:
    """The cosine of each int8 row with the question's unit vector (within the rows' rounding)."""
    return (np.asarray(rows).astype(np.float32) @ question) / SCALE


class Nearest:
    """Every row searched for the question's nearest."""

    def __init__(self, rows: np.ndarray) -> None:
        self._rows = rows

    def top(self, question: np.ndarray, n: int) -> np.ndarray:
        """The `n` rows of highest cosine, best first (ties in row order)."""
        n = min(n, len(self._rows))
        if not n:
            return np.empty(0, dtype=np.int64)
        scores = np.empty(len(self._rows), dtype=np.float32)
        for start in range(0, len(self._rows), CHUNK):
            scores[start : start + CHUNK] = cosines(self._rows[start : start + CHUNK], question)
        best = np.argpartition(-scores, n - 1)[:n]
        return best[np.argsort(-scores[best], kind="stable")].astype(np.int64)
