"""`python -m bot ask|sources`: the terminal interface and the JSON contract the evaluation reads."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ORCHARD = Path(__file__).resolve().parent / "fixtures" / "orchard"


def test_ask_json_reads_one_question_per_line_and_answers_in_order(monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", _Lines("How many bees live in a hive?\nWhat is the capital of France?\n"))
    assert main(["ask", "--json", "--corpus", str(ORCHARD)]) == 0
    first, second = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert first["question"] == "How many bees live in a hive?" and first["abstained"] is False
    assert first["answers"][0]["sentence"] == "A healthy hive holds about 50,000 bees."
    assert first["answers"][0]["article"] == {"file": "03_bees.txt", "title": "Bees and the Orchards"}
    assert isinstance(first["answers"][0]["score"], float)
    assert second == {"question": "What is the capital of France?", "abstained": True, "answers": []}


def test_ask_prints_a_readable_answer(capsys) -> None:
    assert main(["ask", "--corpus", str(ORCHARD), "--top-k", "1", "how", "many", "bees", "in", "a", "hive"]) == 0
    out = capsys.readouterr().out
    assert "1. A healthy hive holds about 50,000 bees." in out
    assert "[3] Bees and the Orchards" in out and "2." not in out


def test_ask_with_context_shows_the_neighbouring_sentences(capsys) -> None:
    main(["ask", "--corpus", str(ORCHARD), "--top-k", "1", "--context", "1", "how many bees in a hive"])
    assert "Beekeepers rent hives" in capsys.readouterr().out


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


class _Lines:
    """A stdin stand-in that is not a terminal."""

    def __init__(self, text: str) -> None:
        self._lines = text.splitlines(keepends=True)

    def isatty(self) -> bool:
        return False

    def readline(self) -> str:
        return self._lines.pop(0) if self._lines else ""


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
