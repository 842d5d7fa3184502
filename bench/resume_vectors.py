"""A first build with sentence vectors, stopped at 60% and run again, against a full build.

    python bench/resume_vectors.py                      # 20,000 sentences, seed 7; files under /tmp, removed after
    python bench/resume_vectors.py --sentences 5000

The corpus is bench/synthetic.py's English-like sentences written as articles. Each run is
`python -m bot ask` with the default sentence model and a fresh INDEX_CACHE: one full first build;
one killed (SIGKILL, harsher than Ctrl-C) once its checkpoint holds 60% of the sentences' vectors;
then the same command again, which continues from the checkpoint. The ratio is of CPU time (user and
system, the process's threads included): wall time on a machine shared with other jobs swung by 2x
between runs. This is a report, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bot.search.index.vectors import HEADER_BYTES, VECTORS_FILE  # noqa: E402
QUESTION = "What about the harbour?"
STOP_AT = 0.6
TARGET_RATIO = 0.65
ROW_BYTES = 8 + 384  # a checkpointed vector: its text key and 384 int8 values (all-MiniLM-L6-v2)


def run(articles: Path, cache: Path, stop_after_rows: int | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of `python -m bot ask` to its end, or (with `stop_after_rows`) until it is killed that far in."""
    env = {**os.environ, "CORPUS_DIR": str(articles), "INDEX_CACHE": str(cache), "SEMANTIC": "on"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with subprocess.Popen([sys.executable, "-m", "bot", "ask", QUESTION], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        while process.poll() is None:
            if stop_after_rows is not None and checkpointed_rows(cache) >= stop_after_rows:
                process.send_signal(signal.SIGKILL)
            time.sleep(0.2)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if stop_after_rows is None and process.returncode:
        raise RuntimeError(f"python -m bot ask exited with {process.returncode}")
    return elapsed, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def vectors_saved(cache: Path) -> int:
    """How many sentence vectors a full build saved: the indexed sentences (headings and bare stopwords are not)."""
    (path,) = cache.rglob(VECTORS_FILE.format(model="*"))
    return json.loads(path.read_bytes()[:HEADER_BYTES])["rows"]


def checkpointed_rows(cache: Path) -> int:
    return sum(path.stat().st_size for path in cache.rglob("*.partial")) // ROW_BYTES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="resume-vectors-") as workdir:
        articles = Path(workdir) / "articles"
        synthetic.write_articles(synthetic.generate(args.sentences, args.seed), articles)
        print(f"[{time.strftime('%H:%M:%S')}] full first build", file=sys.stderr, flush=True)
        full = run(articles, Path(workdir) / "full")
        print(f"[{time.strftime('%H:%M:%S')}] first build, killed at {STOP_AT:.0%} ({full[0]:.0f} s full)", file=sys.stderr, flush=True)
        vectors = vectors_saved(Path(workdir) / "full")
        stopped = run(articles, Path(workdir) / "resumed", stop_after_rows=int(STOP_AT * vectors))
        print(f"[{time.strftime('%H:%M:%S')}] run again", file=sys.stderr, flush=True)
        resumed = run(articles, Path(workdir) / "resumed")
    ratio = resumed[1] / full[1]
    print(
        f"| {args.sentences:,} sentences, default model | wall (s) | CPU (s) | × full build's CPU | target |\n|---|---|---|---|---|\n"
        f"| full first build | {full[0]:.0f} | {full[1]:.0f} | 1.00 | |\n"
        f"| first build killed at {STOP_AT:.0%} of its {vectors:,} vectors | {stopped[0]:.0f} | {stopped[1]:.0f} | {stopped[1] / full[1]:.2f} | |\n"
        f"| the same command again | {resumed[0]:.0f} | {resumed[1]:.0f} | {ratio:.2f} {'✓' if ratio <= TARGET_RATIO else '✗'} | ≤ {TARGET_RATIO} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
