"""Answer latency and memory on the default corpus, in each mode, through the product's own factory.

Questions: the dev set's and the unseen set's (70 questions of every kind, refusals included),
each asked once after a warm-up; p50 and p99 of `Engine.ask`, and the process's RSS after loading
and after answering.

    python bench/answer_latency.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from probe import latency_ms, rss_mb  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.factory import load_engine  # noqa: E402

SHARED = ROOT.parent / "shared"
MODES = {"bm25": {"semantic": False}, "fused": {"rerank": False}, "reranked": {}}


def questions() -> list[str]:
    sets = (SHARED / "eval" / "dev.jsonl", ROOT / "bench" / "sets" / "default-unseen.jsonl")
    return [json.loads(line)["q"] for path in sets for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=sorted(MODES), default="reranked")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    engine = load_engine(Settings(**MODES[args.mode]))
    loaded = rss_mb()
    asked = questions()
    for question in asked[:5]:
        engine.ask(question)
    seconds = []
    for _ in range(args.repeat):
        for question in asked:
            started = time.perf_counter()
            engine.ask(question)
            seconds.append(time.perf_counter() - started)
    print(json.dumps({"mode": args.mode, "ask_ms": latency_ms(seconds), "rss_loaded_mb": round(loaded), "rss_after_mb": round(rss_mb())}))


if __name__ == "__main__":
    main()
