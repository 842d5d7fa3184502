"""Reranked pools other than the fused best N, on the calibration rows combine.py recorded (WORK/rows.pkl).

    python train/reranker/pools.py WORK/rows.pkl

Each pool is the fused best k topped up by the best by cosine among the fused best 30; the combination is
fitted on the first half of the questions and scored on the second, as combine.py does.
"""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from combine import fit, score  # noqa: E402

COSINE = 1  # the cosine's column in combine.py's features
POOLS = ((8, 0), (7, 1), (6, 2), (5, 3), (4, 4), (8, 2), (8, 4), (10, 0), (12, 0))  # (fused best, added by cosine)


def pool(row: dict, fused: int, by_cosine: int) -> dict:
    features, labels = row["features"], row["labels"]
    if not len(labels):
        return row
    first = list(range(min(fused, len(labels))))
    rest = [int(i) for i in np.argsort(-features[:, COSINE], kind="stable") if i not in first][:by_cosine]
    return row | {"features": features[first + rest], "labels": labels[first + rest]}


def main(path: Path) -> None:
    rows = pickle.loads(path.read_bytes())  # written by combine.py on this machine, never downloaded
    half = len(rows) // 2
    for fused, by_cosine in POOLS:
        pooled = [pool(row, fused, by_cosine) for row in rows]
        n = fused + by_cosine
        fitted = [r for r in pooled[:half] if len(r["labels"])]
        w = fit(np.vstack([r["features"][:n] for r in fitted]), np.concatenate([r["labels"][:n] for r in fitted]).astype(float))
        result = score(pooled[half:], w, n)
        recall = np.mean([r["labels"][:n].any() for r in pooled if r["answerable"]])
        print(f"fused {fused} + cosine {by_cosine}: in the pool {recall:.3f}, hit1 {result['hit1']:.3f}, F1 {result['f1']:.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
