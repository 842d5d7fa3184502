"""`python -m bot ask|sources`: the terminal interface and the JSON contract the evaluation reads."""

import json
import os
import pty
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from piped_stdin import Lines

from bot.cli import main

ORCHARD = Path(__file__).resolve().parent / "fixtures" / "orchard"


def test_ask_json_reads_one_question_per_line_and_answers_in_order(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", Lines("How many bees live in a hive?\nWhat is the capital of France?\n"))
    assert main(["ask", "--json", "--corpus", str(ORCHARD)]) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert first["question"] == "How many bees live in a hive?" and first["abstained"] is False
    assert first["answers"][0]["sentence"] == "A healthy hive holds about 50,000 bees."
    assert first["answers"][0]["article"] == {"file": "03_bees.txt", "title": "Bees and the Orchards", "number": 3}
    assert isinstance(first["answers"][0]["score"], float)
    assert second == {
        "question": "What is the capital of France?",
        "abstained": True,
        "reason": "the articles never mention France",
        "answers": [],
    }


def test_ask_json_keeps_its_keys_and_adds_the_reason_each_article_s_number_and_the_code(capsys) -> None:
    assert main(["ask", "--json", "--corpus", str(ORCHARD), "--top-k", "1", "How many bees live in a hive?"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert list(answer) == ["question", "abstained", "reason", "answers"]
    assert answer["reason"] is None
    (hit,) = answer["answers"]
    assert list(hit) == ["sentence", "score", "article", "also_in", "code"]
    assert hit["code"] is None  # the sentence introduces no code example
    assert hit["article"] == {"file": "03_bees.txt", "title": "Bees and the Orchards", "number": 3}


def test_ask_json_answers_every_line_even_a_blank_one_so_output_lines_match_input_lines(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", Lines("How many bees live in a hive?\n\nWhy did pear yields fall?\n"))
    assert main(["ask", "--json", "--corpus", str(ORCHARD)]) == 0
    answers = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [a["question"] for a in answers] == ["How many bees live in a hive?", "", "Why did pear yields fall?"]
    assert answers[1]["reason"] == "the question has no searchable words"


def test_readable_answers_from_a_pipe_skip_blank_lines_and_show_their_question(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", Lines("\nHow many bees live in a hive?\n   \n"))
    assert main(["ask", "--corpus", str(ORCHARD)]) == 0
    out = capsys.readouterr().out
    assert out.count("1. A healthy hive holds about 50,000 bees.") == 1 and "no searchable words" not in out
    assert out.startswith("? How many bees live in a hive?\n1. A healthy hive")


def test_ask_prints_a_readable_answer(capsys) -> None:
    assert main(["ask", "--corpus", str(ORCHARD), "--top-k", "1", "how", "many", "bees", "in", "a", "hive"]) == 0
    out = capsys.readouterr().out
    assert "1. A healthy hive holds about 50,000 bees." in out
    assert "[3] Bees and the Orchards" in out and "\n2. " not in out


def test_ask_with_context_marks_the_neighbouring_sentences_as_context(capsys) -> None:
    main(["ask", "--corpus", str(ORCHARD), "--top-k", "1", "--context", "1", "how many bees in a hive"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[:4] == [
        "(│ marks the context before and after each answer, ▶ the answer, # a heading)",
        "1. │ Beekeepers rent hives to orchards every spring to pollinate the blossom.",
        "   ▶ A healthy hive holds about 50,000 bees.",
        "   │ Without pollination, apple and pear trees set very little fruit.",
    ]


def test_a_heading_in_the_context_is_marked_as_one(capsys) -> None:
    main(["ask", "--corpus", str(ORCHARD), "--top-k", "1", "--context", "1", "why did pear yields fall"])
    assert "1. │ # Pear Growers Struggle With Drought" in capsys.readouterr().out


@pytest.mark.parametrize("limit", ["0", "11", "50"])
def test_top_k_and_the_top_k_setting_share_one_limit(limit: str, monkeypatch, capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["ask", "--corpus", str(ORCHARD), "--top-k", limit, "bees"])
    assert stopped.value.code == 2
    assert f"--top-k={limit} is out of range; use a number from 1 to 10" in capsys.readouterr().err
    monkeypatch.setenv("TOP_K", limit)
    assert main(["ask", "--corpus", str(ORCHARD), "bees"]) == 2
    assert f"TOP_K={limit} is out of range; use a number from 1 to 10" in capsys.readouterr().err


def test_the_largest_top_k_is_accepted_both_ways(monkeypatch) -> None:
    assert main(["ask", "--corpus", str(ORCHARD), "--top-k", "10", "bees"]) == 0
    monkeypatch.setenv("TOP_K", "10")
    assert main(["ask", "--corpus", str(ORCHARD), "bees"]) == 0


def test_abstention_says_so_and_suggests_sources(capsys) -> None:
    main(["ask", "--corpus", str(ORCHARD), "What is the capital of France?"])
    out = capsys.readouterr().out
    assert "No answer in the 3 articles" in out and "sources" in out


def test_sources_json_lists_every_article(capsys) -> None:
    assert main(["sources", "--json", "--corpus", str(ORCHARD)]) == 0
    articles = json.loads(capsys.readouterr().out)
    assert [a["file"] for a in articles] == ["01_apples.txt", "02_pears.md", "03_bees.txt"]
    assert articles[0]["url"] == "https://gazette.example.com/apples" and articles[0]["sentences"] == 4


def test_a_missing_corpus_is_a_clear_error_and_exit_code_2(tmp_path: Path, capsys) -> None:
    assert main(["ask", "--corpus", str(tmp_path / "missing"), "hello"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_a_bad_setting_is_a_clear_error(monkeypatch, capsys) -> None:
    monkeypatch.setenv("TOP_K", "lots")
    assert main(["ask", "--corpus", str(ORCHARD), "hi"]) == 2
    assert "TOP_K='lots' is not a whole number" in capsys.readouterr().err


def test_every_command_has_help_text() -> None:
    from bot.cli import _parser

    commands = _parser()._subparsers._group_actions[0]
    for name, parser in commands.choices.items():
        assert parser.description, name
        assert all(action.help for action in parser._actions), name


def test_python_dash_m_bot_runs_as_a_program() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "--corpus", str(ORCHARD), "how many bees in a hive"],
        capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0
    assert json.loads(done.stdout)["answers"][0]["article"]["file"] == "03_bees.txt"


@pytest.mark.parametrize("module", ["bot.search.engine", "bot.cli", "bot.search.cache"])
def test_the_search_core_and_cli_never_import_discord(module: str) -> None:
    code = f"import sys, {module}; assert 'discord' not in sys.modules, 'discord imported'"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).returncode == 0


class _Terminal:
    """`python -m bot ask` on a pseudo-terminal of its own, as a person at a keyboard runs it."""

    def __init__(self, *args: str, state: Path | None = None) -> None:
        state = state or Path(tempfile.mkdtemp())  # the saved history goes here, never to the real state folder
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the terminal is its stdin, stdout and stderr
            os.environ["TERM"] = "xterm"
            os.environ["XDG_STATE_HOME"] = str(state)
            os.execv(sys.executable, [sys.executable, "-m", "bot", "ask", *args])
        self.screen = b""

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def wait_for(self, text: str, times: int = 1, timeout: float = 30) -> str:
        """Read until `text` has appeared `times` times in all; the screen so far."""
        deadline = time.monotonic() + timeout
        while self.screen.decode(errors="replace").count(text) < times:
            assert time.monotonic() < deadline, f"{text!r} x{times} never appeared in:\n{self.screen.decode(errors='replace')}"
            if select.select([self.fd], [], [], 0.2)[0]:
                try:
                    self.screen += os.read(self.fd, 4096)
                except OSError:  # the child has gone and closed the terminal
                    break
        return self.screen.decode(errors="replace")

    def exit_code(self) -> int:
        _, status = os.waitpid(self.pid, 0)
        self.wait_for("", timeout=1)
        os.close(self.fd)
        return os.waitstatus_to_exitcode(status)


def test_interactive_ask_keeps_its_history_from_one_run_to_the_next(tmp_path: Path) -> None:
    first = _Terminal("--corpus", str(ORCHARD), state=tmp_path)
    first.wait_for("? ")
    first.type(b"how many bees in a hive\r")
    first.wait_for("? ", times=2)
    first.type(b"\x04")  # Ctrl-D
    assert first.exit_code() == 0
    second = _Terminal("--corpus", str(ORCHARD), state=tmp_path)
    second.wait_for("? ")
    second.type(b"\x1b[A\r")  # up arrow: the question of the run before
    second.wait_for("A healthy hive holds about 50,000 bees.")
    second.wait_for("? ", times=2)
    second.type(b"\x04")
    assert second.exit_code() == 0


def test_interactive_ask_edits_lines_recalls_history_asks_again_on_an_empty_line_and_quits_on_ctrl_c() -> None:
    terminal = _Terminal("--corpus", str(ORCHARD))
    terminal.wait_for("? ")
    terminal.type(b"how many bees in a hive\r")
    terminal.wait_for("A healthy hive holds about 50,000 bees.")
    terminal.wait_for("? ", times=2)

    terminal.type(b"\r")  # an empty line: the prompt again, no answer
    terminal.wait_for("? ", times=3)
    terminal.type(b"\x1b[A\r")  # up arrow: the last question again
    terminal.wait_for("A healthy hive holds about 50,000 bees.", times=2)
    terminal.type(b"why did pear yeelds fall" + b"\x1b[D" * 9 + b"\x7fi\r")  # mend "yeelds": 9 x left, backspace, "i"
    terminal.wait_for("Pear yields fell by 30%")
    terminal.wait_for("? ", times=5)
    # A person's Ctrl-C comes a moment after the prompt. One typed within microseconds of it can
    # land before readline waits for input, where CPython's readline only sees it at the next key.
    time.sleep(0.5)
    terminal.type(b"\x03")  # Ctrl-C

    assert terminal.exit_code() == 0
    screen = terminal.screen.decode(errors="replace")
    assert "no searchable words" not in screen and "Traceback" not in screen and "^[[A" not in screen


def test_interactive_ask_quits_on_ctrl_d() -> None:
    terminal = _Terminal("--corpus", str(ORCHARD))
    terminal.wait_for("? ")
    terminal.type(b"\x04")
    assert terminal.exit_code() == 0


def test_ctrl_c_while_reading_a_pipe_stops_without_a_traceback() -> None:
    asking = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", "--json", "--corpus", str(ORCHARD)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    asking.stdin.write(b"how many bees in a hive\n")
    asking.stdin.flush()
    assert json.loads(asking.stdout.readline())["abstained"] is False  # it is now waiting for the next line
    asking.send_signal(signal.SIGINT)
    _, err = asking.communicate(timeout=30)
    assert asking.returncode == 130
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err


@pytest.mark.parametrize("mode", [["--json"], []], ids=["json", "readable"])
def test_a_reader_that_stops_early_ends_it_quietly(mode: list[str]) -> None:
    """`ask < questions.txt | head -1`: the reader leaves, the writer stops without a BrokenPipeError traceback."""
    asking = subprocess.Popen(
        [sys.executable, "-m", "bot", "ask", *mode, "--corpus", str(ORCHARD)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    asking.stdin.write(b"how many bees in a hive\n" * 3000)
    asking.stdin.close()
    assert asking.stdout.readline()
    asking.stdout.close()  # what `head` does once it has its line
    err = asking.stderr.read()
    assert asking.wait(timeout=60) == 141
    assert b"Traceback" not in err and b"BrokenPipeError" not in err, err.decode()


def test_health_reports_the_heartbeat(monkeypatch, tmp_path: Path, capsys) -> None:
    from bot.health import write_heartbeat

    beat = tmp_path / "health"
    monkeypatch.setenv("HEALTH_FILE", str(beat))
    assert main(["health"]) == 1
    write_heartbeat(beat)
    assert main(["health"]) == 0
    monkeypatch.delenv("HEALTH_FILE")
    assert main(["health"]) == 2
    assert "HEALTH_FILE is not set" in capsys.readouterr().err


def test_health_check_loads_neither_the_engine_nor_discord() -> None:
    code = "import sys, bot.cli; assert not {'discord', 'numpy', 'nltk'} & set(sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60).returncode == 0


README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_shows_every_command_run_with_the_venv_s_python() -> None:
    from bot.cli import _parser

    text = README.read_text(encoding="utf-8")
    commands = _parser()._subparsers._group_actions[0].choices
    missing = [name for name in commands if f".venv/bin/python -m bot {name}" not in text]
    assert not missing, f"commands the README never shows: {missing}"
    assert ".venv/bin/corpus-bot " in text
    examples = [line.strip() for line in text.splitlines() if line.startswith("    ")]
    bare = [line for line in examples if line.startswith(("python ", "python -m")) or " python -m bot" in line]
    assert not bare, f"examples with a bare python, which fails outside the venv: {bare}"


def test_a_corpus_big_enough_for_worker_processes_is_answered_from_the_command_line(tmp_path: Path) -> None:
    """Past PARALLEL_FROM_CHARS, splitting is spread over spawned worker processes, started from the real CLI."""
    from bot.search.read.splitting import PARALLEL_FROM_CHARS

    corpus = tmp_path / "big"
    corpus.mkdir()
    paragraph = "".join(f"Harbour {n} keeps {n % 7} boats and a lighthouse painted red. " for n in range(400))
    for number in range(PARALLEL_FROM_CHARS // len(paragraph) // 40 + 1):
        (corpus / f"{number:03}.txt").write_text(f"Harbours, part {number}\n\n" + "\n\n".join([paragraph] * 40), encoding="utf-8")
    env = {**os.environ, "SEMANTIC": "off", "INDEX_CACHE": "off"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", "--corpus", str(corpus), "which harbour keeps 3 boats?"],
        capture_output=True, text=True, env=env, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert json.loads(done.stdout)["answers"][0]["sentence"].endswith("keeps 3 boats and a lighthouse painted red.")
