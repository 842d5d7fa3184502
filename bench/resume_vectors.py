"""A first build with sentence vectors, stopped at 60% and run again, against a full build.

    python bench/resume_vectors.py                      # 20,000 sentences, seed 7; files under /tmp, removed after
    python bench/resume_vectors.py --sentences 5000

The corpus is bench/synthetic.py's English-like sentences written as articles. Each run is
`python -m bot ask` with the default sentence model and a fresh INDEX_CACHE: one full first build;
one killed (SIGKILL, harsher than Ctrl-C) once its checkpoint holds 60% of the sentences' vectors;
then the same command again, which continues from the checkpoint. Seconds are wall time, so run it
on a quiet machine; the ratio is what the target is about. This is a report, not a test.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic

ROOT = Path(__file__).resolve().parent.parent
QUESTION = "What about the harbour?"
STOP_AT = 0.6
TARGET_RATIO = 0.65
ROW_BYTES = 8 + 384 * 2  # a checkpointed vector: its text key and 384 float16 values (all-MiniLM-L6-v2)


def run(articles: Path, cache: Path, stop_after_rows: int | None = None) -> float:
    """Seconds for `python -m bot ask` to finish, or (with `stop_after_rows`) until it is killed that far in."""
    env = {**os.environ, "CORPUS_DIR": str(articles), "INDEX_CACHE": str(cache), "SEMANTIC": "on"}
    started = time.perf_counter()
    with subprocess.Popen([sys.executable, "-m", "bot", "ask", QUESTION], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as process:
        while process.poll() is None:
            if stop_after_rows is not None and checkpointed_rows(cache) >= stop_after_rows:
                process.send_signal(signal.SIGKILL)
            time.sleep(0.2)
    elapsed = time.perf_counter() - started
    if stop_after_rows is None and process.returncode:
        raise RuntimeError(f"python -m bot ask exited with {process.returncode}")
    return elapsed


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
        print(f"[{time.strftime('%H:%M:%S')}] first build, killed at {STOP_AT:.0%} ({full:.0f} s full)", file=sys.stderr, flush=True)
        stopped = run(articles, Path(workdir) / "resumed", stop_after_rows=int(STOP_AT * args.sentences))
        print(f"[{time.strftime('%H:%M:%S')}] run again", file=sys.stderr, flush=True)
        resumed = run(articles, Path(workdir) / "resumed")
    ratio = resumed / full
    print(
        f"| {args.sentences:,} sentences, default model | seconds | × full build | target |\n|---|---|---|---|\n"
        f"| full first build | {full:.0f} | 1.00 | |\n"
        f"| first build killed at {STOP_AT:.0%} of the vectors | {stopped:.0f} | {stopped / full:.2f} | |\n"
        f"| the same command again | {resumed:.0f} | {ratio:.2f} {'✓' if ratio <= TARGET_RATIO else '✗'} | ≤ {TARGET_RATIO} |"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
