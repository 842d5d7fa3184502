"""The README's Quality tables from a saved `bench/quality.py` run: two sets to a table, one row per mode.

    .venv/bin/python bench/quality.py > quality.txt
    .venv/bin/python bench/quality_tables.py quality.txt
"""

from __future__ import annotations

import sys
from pathlib import Path

MODES = {
    "bm25": "BM25 alone",
    "semantic": "semantic alone",
    "fused": "fused (`RERANK=off`)",
    "reranker": "reranker's score alone",
    "reranked": "reranked",
}
NAMES = {"dev": "dev", "wikiqa": "WikiQA", "scifact": "SciFact"} | {
    f"{name}doc": f"{label} docs"
    for name, label in (
        ("git", "git"), ("django", "Django"), ("typer", "Typer"), ("flask", "Flask"),
        ("werkzeug", "Werkzeug"), ("click", "Click"), ("requests", "Requests"), ("pytest", "pytest"), ("aiohttp", "aiohttp"), ("jinja", "Jinja"), ("attr", "attrs"), ("jsonschema", "jsonschema"), ("bs4", "Beautiful Soup"), ("cookie", "Cookiecutter"), ("psyco", "psycopg2"), ("struct", "structlog"),
        ("scrapy", "Scrapy"), ("cmd2", "cmd2"), ("markdown", "Python-Markdown"), ("eventlet", "Eventlet"),
    )
}
COLUMNS = {"hit1": "hit1", "hit3": "hit3", "abstain": "abstain", "wrong_abstain": "wrong abstain", "f1": "F1", "ndcg": "nDCG@10"}


def set_name(name: str) -> str:
    if name.startswith("unseen"):
        number = name.removeprefix("unseen")
        return f"unseen-{number}" if number else "unseen"
    return NAMES.get(name, name)


def saved_run(text: str) -> tuple[list[str], dict[str, list[str]]]:
    """What `bench/quality.py` printed: its columns (`set:metric`) and each mode's cells under them."""
    lines = [line.split() for line in text.splitlines()]
    header = next(line for line in lines if line[:1] == ["mode"])[1:]
    return header, {line[0]: line[1 : len(header) + 1] for line in lines if line[:1] and line[0] in MODES}


def tables(text: str) -> str:
    """Markdown for the table `bench/quality.py` printed: its header line and one line per mode."""
    header, rows = saved_run(text)
    sets: dict[str, list[int]] = {}
    for index, cell in enumerate(header):
        sets.setdefault(cell.split(":")[0], []).append(index)
    names = list(sets)
    out = []
    for pair in (names[i : i + 2] for i in range(0, len(names), 2)):
        columns = [(name, i, header[i].split(":")[1]) for name in pair for i in sets[name]]
        out.append("| mode | " + " | ".join(f"{set_name(n)} {COLUMNS[c]}" for n, _, c in columns) + " |")
        out.append("|---" * (len(columns) + 1) + "|")
        for mode, label in MODES.items():
            if mode not in rows:
                continue
            cells = [rows[mode][i] for _, i, _ in columns]
            if mode == "reranked":
                out.append(f"| **{label}** | " + " | ".join(f"**{c}**" for c in cells) + " |")
            else:
                out.append(f"| {label} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    print(tables(Path(sys.argv[1]).read_text(encoding="utf-8")))
