"""The feedback file grows by whole lines only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.discord_bot.feedback import append_line, read_votes


def test_a_fragment_left_by_an_earlier_crash_does_not_swallow_the_next_record(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    feedback = tmp_path / "feedback.jsonl"
    feedback.write_text('{"vote": "up"}\n{"vote": "do')
    append_line(feedback, b'{"vote": "down"}\n')
    assert feedback.read_text() == '{"vote": "up"}\n{"vote": "do\n{"vote": "down"}\n'
    assert "ended inside a line" in caplog.text
    votes = read_votes(feedback)
    assert [r["vote"] for r in votes.records] == ["up", "down"] and votes.damaged_lines == (2,)


def test_appends_create_the_folder_and_the_file(tmp_path: Path) -> None:
    feedback = tmp_path / "state" / "feedback.jsonl"
    for vote in ("up", "down"):
        append_line(feedback, (json.dumps({"vote": vote}) + "\n").encode())
    assert [r["vote"] for r in read_votes(feedback).records] == ["up", "down"]
