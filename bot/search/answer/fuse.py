"""The middle stage of answering: one score per candidate from the signals' scores.

A convex combination of normalised scores: BM25 divided by the best candidate's BM25 (so
the top lexical match counts 1), cosine similarity as it is (already between -1 and 1).
Chosen by measurement over reciprocal rank fusion (k = 20, 60; lexical weight 0.5, 1) and
other normalisations (min-max, the query's largest possible BM25): bench/quality.py, fused
lexical weight 0.1-0.4 on the dev set, WikiQA and SciFact, where 0.15-0.25 is a plateau on
all three (SciFact nDCG@10 0.653 against 0.645 for the best RRF; WikiQA hit1 within one
question of the best; dev hit1 0.80 against 0.75).
"""

from __future__ import annotations

import numpy as np

from bot.search.answer.retrieve import Candidates

LEXICAL_WEIGHT = 0.2


def fuse(candidates: Candidates, lexical_weight: float = LEXICAL_WEIGHT) -> np.ndarray:
    """One score per candidate, higher is better; BM25 alone when the semantic signal is off.

    A sentence the vectors' build has not reached yet (NaN cosine) gets its normalised BM25 in the
    cosine's place, so its fused score is its normalised BM25: it ranks against the others as it did
    before any vector existed, where a cosine of 0 would bury it below every embedded sentence.
    """
    if candidates.semantic is None:
        return candidates.lexical
    best = candidates.lexical.max(initial=0.0)
    lexical = candidates.lexical / best if best > 0 else candidates.lexical
    semantic = np.where(np.isnan(candidates.semantic), lexical, candidates.semantic)
    return lexical_weight * lexical + (1 - lexical_weight) * semantic
