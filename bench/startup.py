"""How fast the bot starts: deciding that a saved index is still valid, and the CLI's first answer.

    python bench/startup.py validity [--files 25000]     # hashing every file against trusting the stat record
    python bench/startup.py cli [--runs 7]               # `python -m bot ask` from a saved index, per mode, and through `serve`
    python bench/startup.py stages                       # where the default mode's start goes (after `cli`)
    python bench/startup.py floor [--runs 7]             # the same models' work with no bot code (after `cli`)
    python bench/startup.py restart [--files 25000]      # SEMANTIC=off over 1M sentences: first build, then restarts

Files are generated into bench/.data/ (git-ignored). This is a report, not a test: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / "bench" / ".data"
DEFAULT_CORPUS = ROOT / "corpus"
SENTENCES_PER_FILE = 40  # 25,000 files of 40 sentences: the 1M-sentence corpus
SETTLED_NS = 1_600_000_000_000_000_000  # files dated well before the record, so none is racily clean
QUESTION = "who sued openai?"
MODES = {  # name: the settings that select it
    "SEMANTIC=off (BM25 alone)": {"SEMANTIC": "off"},
    "RERANK=off (BM25 + sentence model)": {"RERANK": "off"},
    "default (BM25 + sentence model + reranker)": {},
}


def validity(files: int) -> None:
    """Seconds to fingerprint a folder of `files` articles: every file hashed, then trusted from the stat record."""
    from bot.search import cache
    from bot.search.engine import SearchSettings

    folder = _articles(files)
    record = DATA / f"validity-{files}-cache"
    shutil.rmtree(record, ignore_errors=True)
    started = time.perf_counter()
    every = cache.fingerprint(folder, SearchSettings())
    hashed_s = time.perf_counter() - started
    cache.fingerprint(folder, SearchSettings(), record)  # writes the record
    started = time.perf_counter()
    trusted = cache.fingerprint(folder, SearchSettings(), record)
    trusted_s = time.perf_counter() - started
    assert trusted == every, "the record must not change the fingerprint"
    print("| deciding the saved index is valid | seconds |\n|---|---|")
    print(f"| {files:,} files, every file hashed | {hashed_s:.2f} |")
    print(f"| {files:,} files, stat record trusted | {trusted_s:.2f} |")


def _articles(files: int) -> Path:
    """`files` text articles of made-up sentences (generated once), dated in the past."""
    folder = DATA / f"validity-{files}"
    if not folder.is_dir() or sum(1 for _ in folder.iterdir()) != files:
        import numpy as np

        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        rng = np.random.default_rng(7)
        words = np.array(["".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), size=rng.integers(3, 10))) for _ in range(5000)])
        picks = words[rng.integers(0, len(words), size=(files, SENTENCES_PER_FILE, 12))]
        for n, article in enumerate(picks):
            text = " ".join(" ".join(sentence).capitalize() + "." for sentence in article)
            (folder / f"article-{n:05d}.txt").write_text(text, encoding="utf-8")
    for path in folder.iterdir():
        os.utime(path, ns=(SETTLED_NS, SETTLED_NS))
    return folder


def cli(runs: int) -> None:
    """Median wall and CPU seconds of `python -m bot ask QUESTION`, start to exit, from a saved index, in each mode.

    CPU time (user + system) is reported beside wall time because it hardly moves when other work
    shares the core, which wall time does.
    """
    cache = DATA / "startup-cache"
    print(f"| `python -m bot ask` from a saved index | wall, median of {runs} (s) | CPU, median (s) |\n|---|---|---|")
    for name, settings in MODES.items():
        env = {**os.environ, "CORPUS_DIR": str(DEFAULT_CORPUS), "INDEX_CACHE": str(cache), **settings}
        _ask(env)  # saves the index and vectors (and the models' kept copies) for the runs that follow
        wall, cpu = zip(*(_ask(env) for _ in range(runs)))
        print(f"| {name} | {statistics.median(wall):.2f} | {statistics.median(cpu):.2f} |")
    env = {**os.environ, "CORPUS_DIR": str(DEFAULT_CORPUS), "INDEX_CACHE": str(cache)}
    from serving import serving

    with serving(env):
        _ask(env)  # the server's first answer (its sessions' first run)
        wall, cpu = zip(*(_ask(env) for _ in range(runs)))
    print(f"| default, asking a running `python -m bot serve` (its CPU not counted) | {statistics.median(wall):.2f} | {statistics.median(cpu):.2f} |")


def _corpus_question(folder: Path) -> str:
    """A question made of the first article's first words, so BM25 has postings to read."""
    words = (folder / "article-00000.txt").read_text(encoding="utf-8").split()[:4]
    return f"what about {' '.join(words).lower()}?"


def _ask(env: dict[str, str], question: str = QUESTION) -> tuple[float, float]:
    """Wall and CPU seconds of one `python -m bot ask`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "ask", question], cwd=ROOT, env=env, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _saved_once() -> None:
    """The default mode's saved index, vectors and kept model graphs in DATA/startup-cache, made by one `ask` if
    missing: `stages` and `floor` time loading them, not building them."""
    cache = DATA / "startup-cache"
    if not (cache.is_dir() and any(p.name.startswith("corpus-") for p in cache.iterdir()) and any((cache / "models").glob("*.onnx"))):
        _ask({**os.environ, "CORPUS_DIR": str(DEFAULT_CORPUS), "INDEX_CACHE": str(cache)})


def stages() -> None:
    """CPU seconds of each stage of the default mode's start, in one process: what dominates the CLI's time."""
    _saved_once()
    started = time.process_time()
    marks = []

    def mark(stage: str) -> None:
        marks.append((stage, time.process_time() - started - sum(seconds for _, seconds in marks)))

    from bot.config import load_settings
    from bot.factory import load_model, load_reranker
    from bot.search.engine import Engine, SearchSettings

    mark("imports (numpy, the bot's modules)")
    os.environ.update({"CORPUS_DIR": str(DEFAULT_CORPUS), "INDEX_CACHE": str(DATA / "startup-cache")})
    settings = load_settings()
    embedder, _ = load_model(settings)
    mark("sentence model: onnxruntime import, checksums, session")
    reranker, _ = load_reranker(settings)
    mark("reranker: checksum, session")
    cache_dir = settings.index_cache / next(p.name for p in settings.index_cache.iterdir() if p.name.startswith("corpus-"))
    engine = Engine.from_dir(DEFAULT_CORPUS, settings=SearchSettings(), cache_dir=cache_dir, embedder=embedder).with_reranker(reranker)
    mark("saved index and vectors: validity check and load")
    engine.ask(QUESTION)
    mark("the first answer (question embedded, candidates reranked)")
    print("| default mode, stage | CPU (s) |\n|---|---|")
    for stage, seconds in marks:
        print(f"| {stage} | {seconds:.2f} |")


# The default mode's unavoidable work with none of the bot's code: start Python, import numpy, onnxruntime and
# tokenizers, check both model files' sha256 and their kept graphs', make the two sessions from the kept graphs
# with optimizations off (as the bot does), embed the question and score 8 candidate sentences.
_FLOOR = """
import hashlib, sys
from pathlib import Path
import numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
models, kept, tokenizer_file, question = sys.argv[1:3], sorted(Path(sys.argv[3]).glob("*.onnx")), sys.argv[4], sys.argv[5]
reranker_kept = sys.argv[6]  # kept graphs are named by the first 16 hex digits of their model's sha256
for path in [*models, *kept]:
    with open(path, "rb") as file:
        hashlib.file_digest(file, "sha256")
tokenizer = Tokenizer.from_file(tokenizer_file)
options = ort.SessionOptions()
options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
options.enable_cpu_mem_arena = False
options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # as the bot: idle threads do not spin
sessions = {path.name[:16]: ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"]) for path in kept}
embedder = next(s for name, s in sessions.items() if name != reranker_kept)
reranker = sessions[reranker_kept]
encoding = tokenizer.encode(question)
ids = np.array([encoding.ids], dtype=np.int64)
feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
if "token_type_ids" in {i.name for i in embedder.get_inputs()}:
    feed["token_type_ids"] = np.zeros_like(ids)
embedder.run(None, feed)
pairs = tokenizer.encode_batch([(question, "OpenAI faced a lawsuit from one of its co-founders over the mission it was founded for, which "
                                 "kept the company in the headlines for months, the article says.")] * 8)
ids = np.array([p.ids for p in pairs], dtype=np.int64)
reranker.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids), "token_type_ids": np.array([p.type_ids for p in pairs], dtype=np.int64)})
"""


def floor(runs: int) -> None:
    """CPU seconds of the default mode's unavoidable work with no bot code (see _FLOOR), beside the CLI's."""
    from bot.search.models.embedding import default_model
    from bot.search.models.reranker import default_reranker

    _saved_once()
    sentence_model, reranker = default_model(), default_reranker()
    kept = DATA / "startup-cache" / "models"
    models = [str(sentence_model.model), str(reranker.model)]
    args = [sys.executable, "-c", _FLOOR, *models, str(kept), str(sentence_model.tokenizer), QUESTION, reranker.model_sha256[:16]]
    cpu = []
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(args, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    print(f"| floor: the models' work with no bot code | CPU, median of {runs} (s) |\n|---|---|")
    print(f"| Python, imports, 4 checksums, 2 sessions from kept graphs, 1 embedding, 8 pairs reranked | {statistics.median(cpu):.2f} |")


def restart(files: int, runs: int) -> None:
    """`python -m bot ask` with SEMANTIC=off over `files` articles of 40 sentences: the first build (wall, CPU,
    peak RSS), then restarts from the saved index (median wall and CPU to the printed answer), then where a
    restart's time goes, in a fresh process (`restart_stages`)."""
    folder = _articles(files)
    cache = DATA / f"restart-{files}-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "CORPUS_DIR": str(folder), "INDEX_CACHE": str(cache), "SEMANTIC": "off"}
    question = _corpus_question(folder)
    build_wall, build_cpu, build_peak_mb = _first_build(env, question)
    wall, cpu = zip(*(_ask(env, question) for _ in range(runs)))
    stages = subprocess.run(
        [sys.executable, __file__, "restart-stages", "--files", str(files)], env=env, check=True, capture_output=True, text=True
    ).stdout
    print(f"| `python -m bot ask`, SEMANTIC=off, {files:,} files ({files * SENTENCES_PER_FILE:,} sentences) | wall (s) | CPU (s) |")
    print("|---|---|---|")
    print(f"| first build, saved index written (peak RSS {build_peak_mb:.0f} MB: its largest process) | {build_wall:.2f} | {build_cpu:.2f} |")
    print(f"| restart from the saved index to the printed answer, median of {runs} | {statistics.median(wall):.2f} | {statistics.median(cpu):.2f} |")
    print(stages, end="")


# Runs the command in a fresh interpreter and prints its largest process's peak RSS (KiB). A child forked
# from this process would count the pages it shared with it (after generating the articles: 539 MB, not 317).
_PEAK = "import resource, subprocess, sys; subprocess.run(sys.argv[1:], check=True, capture_output=True); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


def _first_build(env: dict[str, str], question: str) -> tuple[float, float, float]:
    """Wall and CPU seconds and peak RSS (MB, of its largest process) of the `python -m bot ask` that builds the index."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    command = [sys.executable, "-c", _PEAK, sys.executable, "-m", "bot", "ask", question]
    peak_kib = int(subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True, text=True).stdout)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, peak_kib / 1024


def restart_stages(files: int) -> None:
    """Wall and CPU seconds of each stage of a SEMANTIC=off restart, in this (fresh) process."""
    marks = []
    wall_started, cpu_started = time.perf_counter(), time.process_time()

    def mark(stage: str) -> None:
        wall, cpu = time.perf_counter() - wall_started, time.process_time() - cpu_started
        marks.append((stage, wall - sum(m[1] for m in marks), cpu - sum(m[2] for m in marks)))

    from bot.config import load_settings
    from bot.config import cache_dir
    from bot.search import cache
    from bot.search.engine import SearchSettings

    mark("imports")
    settings = load_settings()
    folder, search = cache_dir(settings), SearchSettings(ignore=settings.corpus_ignore)
    digest = cache.fingerprint(settings.corpus_dir, search, folder)
    mark("deciding the saved index is valid (stat record)")
    engine = cache.load(folder / cache.CACHE_FILE, digest, search)
    assert engine is not None, "the saved index was not reused"
    mark("loading the saved index")
    engine.ask(_corpus_question(settings.corpus_dir))
    mark("the first answer (the first article's words: postings and text read)")
    engine.ask(QUESTION)
    mark("then a question of unknown words (the speller's saved index read)")
    print(f"| restart stage, {files:,} files, in one process | wall (s) | CPU (s) |\n|---|---|---|")
    for stage, wall, cpu in marks:
        print(f"| {stage} | {wall:.3f} | {cpu:.3f} |")
    anonymous, mapped = (_status_mb(field) for field in ("RssAnon", "RssFile"))
    print(f"\nRSS after these answers: {anonymous:.0f} MB private, {mapped:.0f} MB of mapped files (shared by every process mapping them)")


def _status_mb(field: str) -> float:
    """A line of /proc/self/status in MB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("validity").add_argument("--files", type=int, default=25_000)
    commands.add_parser("cli").add_argument("--runs", type=int, default=7)
    commands.add_parser("stages")
    commands.add_parser("floor").add_argument("--runs", type=int, default=7)
    restarts = commands.add_parser("restart")
    restarts.add_argument("--files", type=int, default=25_000)
    restarts.add_argument("--runs", type=int, default=5)
    commands.add_parser("restart-stages").add_argument("--files", type=int, default=25_000)
    args = parser.parse_args(argv)
    if args.command == "validity":
        validity(args.files)
    elif args.command == "restart":
        restart(args.files, args.runs)
    elif args.command == "restart-stages":
        restart_stages(args.files)
    elif args.command == "stages":
        stages()
    elif args.command == "floor":
        floor(args.runs)
    else:
        cli(args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
