"""The feedback file grows by whole lines only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.discord_bot.feedback import append_line
from bot.feedback_report import read_votes


def test_a_fragment_left_by_an_earlier_crash_does_not_swallow_the_next_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text('{"vote": "up"}\n{"vote": "do')
    append_line(feedback, b'{"vote": "down"}\n')
    assert feedback.read_text() == '{"vote": "up"}\n{"vote": "do\n{"vote": "down"}\n'
    assert "ended inside a line" in caplog.text
    read = read_votes(feedback)
    assert [v.vote for v in read.votes] == ["up", "down"] and [number for number, _ in read.skipped] == [2]


def test_appends_create_the_folder_and_the_file(tmp_path: Path) -> None:
    feedback = tmp_path / "state" / "feedback.jsonl"
    for vote in ("up", "down"):
        append_line(feedback, (json.dumps({"vote": vote}) + "\n").encode())
    assert [v.vote for v in read_votes(feedback).votes] == ["up", "down"]
