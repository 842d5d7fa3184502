"""What a question's vector search costs while the sentence vectors are still being built.

    nice -n 15 taskset -c 1 .venv/bin/python bench/partial_search.py

Until every sentence has a vector, the engine searches the rows embedded so far exactly (nearest.Nearest.partial:
usearch, int8 rows of 384, cosine, one thread), over a view of the first rows of the array being filled.
Random int8 rows stand in for sentences: exact search reads every row whatever they hold. CPU time of the
thread per question, 50 questions. This is a report, not a test.
"""

from __future__ import annotations

import time

import numpy as np

from bot.search.index.nearest import Nearest

TOTAL = 1_000_000
COVERED = (20_000, 100_000, 500_000, 1_000_000)


def main() -> None:
    rng = np.random.default_rng(0)
    rows = rng.integers(-127, 128, size=(TOTAL, 384), dtype=np.int8)
    questions = rng.normal(size=(50, 384)).astype(np.float32)
    questions /= np.linalg.norm(questions, axis=1, keepdims=True)
    for covered in COVERED:
        search = Nearest.partial(rows, covered)
        search.top(questions[0], 30)  # usearch's first call loads its kernels
        times = []
        for question in questions:
            started = time.thread_time()
            search.top(question, 30)
            times.append((time.thread_time() - started) * 1000)
        print(f"{covered:>9,} of {TOTAL:,} rows covered: CPU p50 {np.median(times):.2f} ms, p99 {np.percentile(times, 99):.2f} ms")


if __name__ == "__main__":
    main()
