"""Rounds 12 and 13's training groups: the help-channel documentation groups (helpdocs.py) twice, and a sample of round
11's groups (FAQ, SQuAD and WikiQA train, sha256 ba8553f1…) so the reranker keeps what it knew; shuffled with a
fixed seed. Prints the output's sha256.

    python train/reranker/mix12.py HELPDOCS.jsonl [HELPDOCS.jsonl ...] --earlier GROUPS_11.jsonl --out groups-12.jsonl
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from pathlib import Path

SEED = 20261206
HELP_TIMES = 2
EARLIER = 1500  # round 11's groups kept: about as many as the help groups, twice over


def read(path: Path) -> list[str]:
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("helpdocs", type=Path, nargs="+", help="helpdocs.py's outputs")
    parser.add_argument("--earlier", type=Path, required=True, help="round 11's groups")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    rng = random.Random(SEED)
    help_groups = [line for path in args.helpdocs for line in read(path)] * HELP_TIMES
    earlier = rng.sample(read(args.earlier), EARLIER)
    groups = help_groups + earlier
    rng.shuffle(groups)
    text = "\n".join(groups) + "\n"
    args.out.write_text(text, encoding="utf-8")
    sources = {}
    for line in groups:
        source = json.loads(line).get("source", "").split(":")[0] or "squad/wikiqa"
        sources[source] = sources.get(source, 0) + 1
    print(len(groups), "groups", sources, "sha256", hashlib.sha256(text.encode()).hexdigest())


if __name__ == "__main__":
    main()
