"""The sentence model's training groups: the FAQ training groups twice (less the repositories whose documentation a
benchmark here reads), then data.py's SQuAD and WikiQA groups, shuffled with a fixed seed. These are round 11's
groups (train/reranker/README.md), sha256 ba8553f1…

    PYTHONPATH=.:train/reranker python train/sentence/mix.py FAQ_GROUPS.jsonl SQUAD_WIKIQA.jsonl --out groups.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

from faqs import held_out_faq

SEED = 20261206
FAQ_TIMES = 2
# Their FAQ pages are in bench/jinjadoc, bench/requestsdoc and bench/aiohttpdoc: kept out so those sets stay unseen.
BENCHMARKED = {"pallets/jinja", "psf/requests", "aio-libs/aiohttp"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("faq", type=Path, help="faqs.py's output")
    parser.add_argument("squad_wikiqa", type=Path, help="data.py's output")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    faq = []
    for line in args.faq.read_text(encoding="utf-8").splitlines(keepends=True):
        repository = json.loads(line)["source"].removeprefix("faq:")
        if not held_out_faq(repository) and repository not in BENCHMARKED:
            faq.append(line)
    lines = faq * FAQ_TIMES + args.squad_wikiqa.read_text(encoding="utf-8").splitlines(keepends=True)
    random.Random(SEED).shuffle(lines)
    data = "".join(lines).encode("utf-8")
    args.out.write_bytes(data)
    print(f"{len(lines)} groups ({len(faq)} FAQ groups x{FAQ_TIMES}) -> {args.out}, sha256 {hashlib.sha256(data).hexdigest()}")


if __name__ == "__main__":
    main()
