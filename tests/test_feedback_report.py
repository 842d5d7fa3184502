"""`python -m bot feedback`: the operator's summary of the 👍/👎 file, worst-rated answers first."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from bot.discord_bot.feedback import FeedbackLog
from bot.feedback_report import read_votes, summarise

PEAR = "why did pear yields fall?"
BEES = "how many bees in a hive?"
APPLES = "when were the apples picked?"


def vote(log: FeedbackLog, vote: str, user: str, question: str, ids: list[int], message: int, minute: int) -> None:
    """A record exactly as the 👍/👎 buttons write it (bot/discord_bot/views.py)."""
    asyncio.run(log.append({
        "time": f"2025-06-01T10:{minute:02d}:00+00:00",
        "vote": vote,
        "user": user,
        "question": question,
        "sentence_ids": ids,
        "message_id": message,
        "channel_id": 5,
        "guild_id": 6,
    }))


@pytest.fixture
def feedback_file(tmp_path: Path) -> Path:
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    vote(log, "up", "ann", BEES, [7], message=1, minute=1)
    vote(log, "down", "bob", PEAR, [3, 4], message=2, minute=2)
    vote(log, "down", "cat", PEAR, [3, 4], message=2, minute=3)
    vote(log, "up", "ann", APPLES, [9], message=3, minute=4)
    vote(log, "down", "ann", APPLES, [9], message=3, minute=5)  # ann changed her mind: her last vote counts
    vote(log, "up", "dan", BEES, [7], message=4, minute=6)  # the same answer, asked again in another message
    return log.path


def test_worst_rated_answers_come_first(feedback_file: Path, capsys) -> None:
    assert main(["feedback", "--file", str(feedback_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"5 votes (2 👍, 3 👎) on 3 answers from 4 people ({feedback_file}, 2025-06-01 to 2025-06-01)."
    assert out[2:] == [
        " net   up down  last vote   question → sentences shown",
        "  -2    0    2  2025-06-01  why did pear yields fall? → 3, 4",
        "  -1    0    1  2025-06-01  when were the apples picked? → 9",
        "  +2    2    0  2025-06-01  how many bees in a hive? → 7",
    ]


def test_a_person_s_last_vote_on_a_message_counts_once_and_one_answer_in_two_messages_is_one(feedback_file: Path) -> None:
    read = read_votes(feedback_file)
    ratings = {r.question: r for r in summarise(read.votes).ratings}
    assert read.skipped == []
    assert (ratings[APPLES].up, ratings[APPLES].down) == (0, 1)
    assert (ratings[BEES].up, ratings[BEES].down) == (2, 0)


def test_ties_put_the_more_disliked_then_the_more_recent_first(tmp_path: Path) -> None:
    lines = [
        '{"vote": "down", "user": "a", "question": "q1", "sentence_ids": [1], "message_id": 1, "time": "2025-06-01T09:00"}',
        '{"vote": "up", "user": "b", "question": "q1", "sentence_ids": [1], "message_id": 1, "time": "2025-06-01T09:01"}',
        '{"vote": "up", "user": "a", "question": "q2", "sentence_ids": [2], "message_id": 2, "time": "2025-06-01T09:02"}',
        '{"vote": "down", "user": "b", "question": "q2", "sentence_ids": [2], "message_id": 2, "time": "2025-06-03T09:03"}',
        '{"vote": "up", "user": "a", "question": "q3", "sentence_ids": [3], "message_id": 3, "time": "2025-06-02T09:00"}',
    ]
    (tmp_path / "f").write_text("\n".join(lines), encoding="utf-8")
    assert [r.question for r in summarise(read_votes(tmp_path / "f").votes).ratings] == ["q2", "q1", "q3"]


def test_a_damaged_line_is_skipped_with_a_warning_naming_it(feedback_file: Path, capsys) -> None:
    with feedback_file.open("a", encoding="utf-8") as file:
        file.write('{"vote": "down", "user": "eve", "question": "half a li\n')  # a crash mid-write
        file.write('["not", "an", "object"]\n')
        file.write('{"vote": "meh", "user": "eve", "question": "q"}\n')
        file.write('{"vote": "down", "user": "eve", "question": "q", "sentence_ids": "7"}\n')
        file.write("\n")
    with feedback_file.open("ab") as binary:
        binary.write(b'{"vote": "up", "question": "caf\xe9"}\n')  # Latin-1 from a hand edit
    assert main(["feedback", "--file", str(feedback_file)]) == 0
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        f"warning: {feedback_file} line 7: not JSON at column 45 (Unterminated string starting at); skipped",
        f"warning: {feedback_file} line 8: not a JSON object; skipped",
        f"warning: {feedback_file} line 9: 'vote' is 'meh', not 'up' or 'down'; skipped",
        f"warning: {feedback_file} line 10: 'sentence_ids' is not a list of whole numbers; skipped",
        f"warning: {feedback_file} line 12: not UTF-8 text; skipped",
    ]
    assert captured.out.startswith("5 votes ")


def test_limit_lists_the_worst_few_and_says_how_many_more(feedback_file: Path, capsys) -> None:
    assert main(["feedback", "--file", str(feedback_file), "--limit", "1"]) == 0
    out = capsys.readouterr().out
    assert "why did pear yields fall?" in out and "apples" not in out
    assert out.rstrip().endswith("… and 2 more answers (--limit 3 shows them all).")


def test_it_reads_feedback_file_by_default(feedback_file: Path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("FEEDBACK_FILE", str(feedback_file))
    assert main(["feedback"]) == 0
    assert "why did pear yields fall?" in capsys.readouterr().out


def test_no_file_yet_is_no_feedback_yet(tmp_path: Path, capsys) -> None:
    assert main(["feedback", "--file", str(tmp_path / "feedback.jsonl")]) == 0
    assert capsys.readouterr().out.startswith(f"No feedback yet: {tmp_path / 'feedback.jsonl'} does not exist")


def test_an_empty_file_has_no_votes(tmp_path: Path, capsys) -> None:
    (tmp_path / "feedback.jsonl").write_text("", encoding="utf-8")
    assert main(["feedback", "--file", str(tmp_path / "feedback.jsonl")]) == 0
    assert capsys.readouterr().out == f"No votes in {tmp_path / 'feedback.jsonl'} yet.\n"


def test_a_folder_given_as_the_file_is_an_error(tmp_path: Path, capsys) -> None:
    assert main(["feedback", "--file", str(tmp_path)]) == 2
    assert f"cannot read feedback file {tmp_path}: Is a directory" in capsys.readouterr().err


def test_the_summary_loads_neither_discord_nor_the_engine(feedback_file: Path) -> None:
    code = (
        "import sys; from bot.cli import main; main(['feedback', '--file', sys.argv[1]]);"
        "assert not {'discord', 'numpy', 'nltk'} & set(sys.modules), 'heavy imports'"
    )
    done = subprocess.run([sys.executable, "-c", code, str(feedback_file)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "why did pear yields fall?" in done.stdout
