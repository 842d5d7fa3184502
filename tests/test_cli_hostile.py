"""The terminal commands, run as `python -m bot`, against damaged cache files and text that tries to drive the terminal."""

from __future__ import annotations

import json
import os
import resource
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from bot.search.cache import CACHE_FILE
from bot.search.models.embedding import default_model

ORCHARD = Path(__file__).resolve().parent / "fixtures" / "orchard"
REPO = Path(__file__).resolve().parents[1]
QUESTION = "how many bees live in a hive?"
OFF = "semantic search is off"


# `python -m bot ARGS`, then the process's own peak RSS (VmHWM) on stderr. Not getrusage: RUSAGE_CHILDREN
# is the peak of every child the test run ever had, and Linux carries ru_maxrss across exec, so a child
# forked from a big pytest process starts with pytest's peak.
PEAK = (
    "import runpy, sys\n"
    "sys.argv = ['bot', *sys.argv[1:]]\n"
    "try:\n    runpy.run_module('bot', run_name='__main__')\n"
    "finally:\n"
    "    status = open('/proc/self/status').read()\n"
    "    print('peak KB', status.split('VmHWM:')[1].split()[0], file=sys.stderr)\n"
)


def bot(
    *args: str, cache: Path | None = None, semantic: str = "on", corpus: Path = ORCHARD, report_peak: bool = False
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SEMANTIC": semantic, "INDEX_CACHE": str(cache) if cache else "off"}
    command = [sys.executable, *(["-c", PEAK] if report_peak else ["-m", "bot"]), *args]
    if args[0] in ("ask", "sources"):
        command += ["--corpus", str(corpus)]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=180)


@pytest.fixture
def kept(tmp_path: Path) -> Path:
    """A cache folder after one run: the saved index, its vectors and both models' kept graphs with their checksums."""
    cache = tmp_path / "cache"
    assert bot("ask", QUESTION, cache=cache).returncode == 0
    return cache


def kept_model(cache: Path) -> Path:
    (graph,) = (cache / "models").glob(f"{default_model().model_sha256[:16]}-*.onnx")
    return graph


def test_a_damaged_checksum_of_the_kept_model_is_rebuilt_and_semantic_search_stays_on(kept: Path) -> None:
    """Handling: a kept graph's checksum file that is not ASCII (one bad byte) means making the graph again.
    Before, UnicodeDecodeError escaped as "model.onnx: onnxruntime cannot load it", on every start."""
    checksum = kept_model(kept).with_suffix(".sha256")
    checksum.write_bytes(b"\xff" + checksum.read_bytes()[1:])
    for _ in range(2):
        done = bot("ask", "--json", QUESTION, cache=kept)
        assert done.returncode == 0 and OFF not in done.stderr, done.stderr
    assert checksum.read_bytes().isascii()


def test_a_huge_file_at_the_kept_models_path_is_not_read(kept: Path) -> None:
    """Handling: the kept graph's size is checked before it is read; one far larger than the model is remade.
    Before, a 3 GB sparse file there was read whole (3.3 GB of memory); here 1 GB, within the child's peak."""
    graph = kept_model(kept)
    size = graph.stat().st_size
    with graph.open("r+b") as file:
        file.truncate(2**30)
    done = bot("ask", "--json", QUESTION, cache=kept, report_peak=True)
    peak_mb = int(done.stderr.rsplit("peak KB ", 1)[1]) / 1024
    assert done.returncode == 0 and OFF not in done.stderr, done.stderr
    assert peak_mb < 800, f"the child peaked at {peak_mb:.0f} MB"
    assert graph.stat().st_size == size


def test_escape_codes_in_votes_articles_and_file_names_are_shown_not_obeyed(tmp_path: Path) -> None:
    """Handling: the terminal commands write through `terminal.ShownStream` and the log through `shown`: control
    characters are written as escapes. Before, `ESC c` in a question reset the terminal of whoever ran `feedback`."""
    votes = tmp_path / "votes.jsonl"
    vote = {"vote": "down", "user": "u1", "question": "bees?\x1bc\x1b]0;owned\x07\u202e", "sentence_ids": [1], "time": "2026-01-01"}
    votes.write_text(json.dumps(vote) + "\n")
    corpus = tmp_path / "corpus"
    shutil.copytree(ORCHARD, corpus)
    (corpus / "bees.txt").write_text("A hive holds about 50,000 bees in summer.\x1b[2J The queen \x9b31m lays eggs.\n")
    (corpus / "\x1b[31mred.pdf").write_text("not an article")

    shown = [bot("feedback", "--file", str(votes)), bot("ask", QUESTION, semantic="off", corpus=corpus)]
    output = "".join(done.stdout + done.stderr for done in shown)
    assert all(done.returncode == 0 for done in shown), output
    assert not any(char in output for char in "\x1b\x07\x9b\u202e"), output
    assert "bees?\\u001bc\\u001b]0;owned\\u0007\\u202e" in output
    assert "\\u001b[31mred.pdf: .pdf is not an article format" in output


def test_saved_files_are_readable_by_other_users(kept: Path) -> None:
    """Handling: `store.write_atomically` gives every saved file FILE_MODE (0644), as the README promises another
    user's process may reuse the saved index. Before, mkstemp's 0600 made that user rebuild it at every start."""
    saved = [path for path in kept.rglob("*") if path.is_file()]
    assert {path.suffix for path in saved} >= {".mapped", ".int8", ".onnx", ".sha256"}
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in saved} == {path.name: 0o644 for path in saved}


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root, to run the second process as the user nobody")
def test_another_users_process_reuses_the_saved_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """Handling: as above, checked as two users. Root builds and saves the index; a forked child that has become
    nobody (uid 65534) answers from it without a warning and without rewriting it. Before, it could not read
    the 0600 file, rebuilt the index and warned that it could not save it."""
    import encodings.cp437  # noqa: F401  (zipfile's, imported lazily: nobody cannot read root's Python install)

    from bot.cli import main

    shared = Path(tempfile.mkdtemp(prefix="corpus-bot-two-users-"))
    try:
        shared.chmod(0o755)
        shutil.copytree(ORCHARD, shared / "orchard")
        monkeypatch.setenv("SEMANTIC", "off")
        monkeypatch.setenv("INDEX_CACHE", str(shared / "cache"))
        ask = ["ask", "--json", "--corpus", str(shared / "orchard"), QUESTION]
        assert main(ask) == 0
        (saved,) = (shared / "cache").rglob(CACHE_FILE)
        written = saved.stat().st_mtime_ns
        reading, writing = os.pipe()
        child = os.fork()
        if child == 0:
            signal.alarm(120)  # a child stuck on a lock another thread held at the fork ends, and the test fails
            os.close(reading)
            sys.stdout = sys.stderr = open(writing, "w")  # noqa: SIM115  (the child ends with os._exit)
            os.setgid(65534)
            os.setuid(65534)
            code = main(ask)
            sys.stdout.flush()
            os._exit(code)
        os.close(writing)
        with open(reading) as said:
            output = said.read()
        _, status = os.waitpid(child, 0)
        rewritten = saved.stat().st_mtime_ns != written
    finally:
        shutil.rmtree(shared)
    assert os.waitstatus_to_exitcode(status) == 0 and "warning" not in output, output
    assert json.loads(output)["answers"] and not rewritten


def test_health_reads_a_few_bytes_of_whatever_health_file_names(tmp_path: Path) -> None:
    """Handling: `check_health` reads at most 64 bytes. HEALTH_FILE linked to /dev/zero was read until memory
    ran out (here a 1 GB address-space limit on the child), instead of failing the check with a reason."""
    link = tmp_path / "heartbeat"
    link.symlink_to("/dev/zero")
    done = subprocess.run(
        [sys.executable, "-m", "bot", "health"], env={**os.environ, "PYTHONPATH": str(REPO), "HEALTH_FILE": str(link)},
        capture_output=True, text=True, timeout=60,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (2**30, 2**30)),
    )
    assert done.returncode == 1 and f"heartbeat file {link} does not hold a time" in done.stderr, done.stderr
