"""Peak memory of a first build from big article files, and of the first answer after it, measured on the real CLI.

    python bench/build_memory.py                       # every case below, files under /tmp, removed after
    python bench/build_memory.py --cases text+html     # one case (see CASES)

Each case copies the default corpus into a fresh folder under /tmp, adds big files generated from a
seed (English-like sentences over bench/synthetic.py's Zipfian vocabulary; the web page wrapped in
the markup a saved news page carries: scripts, styles, navigation, nested divs with classes and
inline styles, links), and runs `python -m bot sources` with `SEMANTIC=off` and no saved index (the
build), then `python -m bot ask` from the index it saved (the first answer: the speller's index of
the corpus's words is built for the question's unknown words then). Peak
memory is the largest sum of RSS over the process and its children (the splitting workers),
sampled every 50 ms from /proc, beside the kernel's own peak of the largest single process.
This is a report, not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import synthetic

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT / "corpus"
MB = 1_000_000
QUESTION = "How much has Microsoft invested in OpenAI?"
TARGET_MB = 400


def english_text(size: int, seed: int) -> str:
    """About `size` bytes of paragraphs of English-like sentences, under a title line."""
    corpus = synthetic.generate(max(1, size // 75), seed)
    paragraphs, written, sentence = [], 0, 0
    while written < size:
        paragraph = " ".join(corpus.sentence(i % len(corpus.documents)) for i in range(sentence, sentence + 5))
        sentence += 5
        paragraphs.append(paragraph)
        written += len(paragraph) + 2
    return f"A synthetic article of {size // MB} MB\n\n" + "\n\n".join(paragraphs) + "\n"


def saved_page(size: int, seed: int) -> str:
    """About `size` bytes of a saved news page: a quarter to a third text, the rest markup, scripts and styles."""
    rng = np.random.default_rng(seed)
    text = iter(english_text(size, seed).split("\n\n")[1:])
    style = "".join(f".c{n}{{margin:{n % 7}px;color:#{n:06x}}}" for n in range(2000))
    script = "var data = [" + ",".join(str(n) for n in range(20000)) + "];"
    head = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>A synthetic page — Example News</title>"
        "<meta property='og:type' content='article'><meta property='og:site_name' content='Example News'>"
        "<meta property='article:published_time' content='2024-05-14T08:00:00Z'><meta name='author' content='A. Writer'>"
        f"<link rel='canonical' href='https://news.example/synthetic'><style>{style}</style><script>{script}</script></head>"
        "<body><header><nav><ul>" + "".join(f"<li><a href='/s{n}'>Section {n}</a></li>" for n in range(40)) + "</ul></nav></header>"
        "<main><article><h1>A synthetic page</h1>"
    )
    tail = "</article></main><footer><p>© Example News</p></footer></body></html>\n"
    body, written = [], len(head) + len(tail)
    for number, paragraph in enumerate(text):
        if written >= size:
            break
        classes = " ".join(f"c{c}" for c in rng.integers(0, 2000, 3))
        words = paragraph.split(" ")
        at = int(rng.integers(0, len(words)))
        words[at] = f"<a href='https://news.example/{number}' class='{classes}' data-track='{number}'>{words[at]}</a>"
        body.append(
            f"<div class='{classes}' style='padding:{number % 5}px' data-block='{number}'>"
            f"<p class='para' data-id='p{number}'><span class='s'>{' '.join(words)}</span></p></div>"
        )
        if number % 50 == 49:
            body.append(f"<h2 class='{classes}'>Part {number // 50 + 1}</h2><script>track({number});</script>")
        written += sum(map(len, body[-2:])) if number % 50 == 49 else len(body[-1])
    return head + "".join(body) + tail


CASES: dict[str, Callable[[Path, int], None]] = {
    "default": lambda folder, seed: None,
    "page20": lambda folder, seed: (folder / "page20.html").write_text(saved_page(20 * MB, seed), encoding="utf-8"),
    "text+html": lambda folder, seed: (
        (folder / "page40.html").write_text(saved_page(40 * MB, seed), encoding="utf-8"),
        (folder / "text40.txt").write_text(english_text(40 * MB, seed + 1), encoding="utf-8"),
    ),
}
CASE_NAMES = {
    "default": "the default corpus alone",
    "page20": "a 20 MB saved web page beside it",
    "text+html": "a 40 MB web page and a 40 MB text file beside it",
}


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and its descendants, in MB (0 for any that ended meanwhile)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo.extend(children.get(current, []))
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def peak_of(command: list[str], env: dict[str, str]) -> dict:
    """Run `command`, sampling the RSS of its process tree; its seconds, tree peak and own peak (MB)."""
    timed = ["/usr/bin/time", "-f", "%M", *command]
    started = time.perf_counter()
    with subprocess.Popen(timed, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) as process:
        peak = 0.0
        while process.poll() is None:
            peak = max(peak, tree_rss_mb(process.pid))
            time.sleep(0.05)
        stderr = process.stderr.read()
    if process.returncode:
        raise RuntimeError(f"{' '.join(command)} exited with {process.returncode}: {stderr[-2000:]}")
    largest_mb = int(stderr.strip().splitlines()[-1]) / 1024
    # Sampling can miss the very top of a peak the kernel saw: never report less than the kernel's figure.
    return {"seconds": time.perf_counter() - started, "tree_peak_mb": max(peak, largest_mb), "largest_process_mb": largest_mb}


def build_case(name: str, seed: int, workdir: Path) -> dict:
    folder = workdir / name
    shutil.copytree(DEFAULT_CORPUS, folder)
    CASES[name](folder, seed)
    size = sum(path.stat().st_size for path in folder.iterdir()) / MB
    env = {**os.environ, "CORPUS_DIR": str(folder), "INDEX_CACHE": str(workdir / f"{name}-cache"), "SEMANTIC": "off"}
    build = peak_of([sys.executable, "-m", "bot", "sources"], env)
    answer = peak_of([sys.executable, "-m", "bot", "ask", QUESTION], env)
    shutil.rmtree(folder)
    shutil.rmtree(workdir / f"{name}-cache", ignore_errors=True)
    return {"corpus_mb": size, "build": build, "answer": answer}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, of: {', '.join(CASES)}")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    header = (
        "| `SEMANTIC=off` | corpus (MB) | first build (s) | build peak RSS, process and workers (MB) | … largest single process (MB) "
        "| first answer from the saved index: peak RSS (MB) | target |"
    )
    rows = [header, "|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory(prefix="build-memory-") as workdir:
        for name in args.cases.split(","):
            print(f"[{time.strftime('%H:%M:%S')}] {name}", file=sys.stderr, flush=True)
            r = build_case(name, args.seed, Path(workdir))
            build, answer = r["build"], r["answer"]
            met = "✓" if build["tree_peak_mb"] <= TARGET_MB else "✗"
            rows.append(
                f"| {CASE_NAMES[name]} | {r['corpus_mb']:.1f} | {build['seconds']:.1f} | {build['tree_peak_mb']:.0f} {met} "
                f"| {build['largest_process_mb']:.0f} | {answer['tree_peak_mb']:.0f} | build ≤ {TARGET_MB} |"
            )
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
