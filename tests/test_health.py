"""The heartbeat file behind `python -m bot health`: fresh passes, stale, missing or garbled fails."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.health import DEFAULT_MAX_AGE, check_health, write_heartbeat

REPO = Path(__file__).resolve().parents[1]


def beat_time(path):
    return float(path.read_text())


def test_a_heartbeat_just_written_is_healthy(tmp_path):
    path = tmp_path / "bot.health"
    write_heartbeat(path)

    healthy, reason = check_health(path, max_age=60)

    assert healthy
    assert reason.startswith("last heartbeat")


def test_the_file_holds_one_line_with_the_unix_time(tmp_path):
    path = tmp_path / "bot.health"
    write_heartbeat(path)

    text = path.read_text()

    assert text.endswith("\n") and text.count("\n") == 1
    assert beat_time(path) > 1_600_000_000  # after 2020: seconds since the epoch, not a monotonic clock


def test_a_heartbeat_exactly_max_age_old_still_passes_and_one_second_more_fails(tmp_path):
    path = tmp_path / "bot.health"
    path.write_text("1700000000.000\n")

    assert check_health(path, max_age=60, now=1_700_000_060) == (True, "last heartbeat 60 s ago")
    healthy, reason = check_health(path, max_age=60, now=1_700_000_061)
    assert not healthy
    assert reason == "last heartbeat 61 s ago, more than 60 s: the bot is not connected"


def test_a_missing_file_means_the_bot_never_connected(tmp_path):
    path = tmp_path / "bot.health"

    healthy, reason = check_health(path, max_age=60)

    assert not healthy
    assert str(path) in reason and "not connected yet" in reason


@pytest.mark.parametrize("contents", ["", "\n", "connected", "nan", "inf", "-inf", "12:00", "\x00\xff"])
def test_a_file_without_a_time_in_it_fails_and_says_so(tmp_path, contents):
    path = tmp_path / "bot.health"
    path.write_bytes(contents.encode("latin-1"))

    healthy, reason = check_health(path, max_age=60, now=1_700_000_000)

    assert not healthy
    assert "does not hold a time" in reason


def test_a_heartbeat_far_in_the_future_fails_so_a_clock_set_back_cannot_hide_a_dead_bot(tmp_path):
    path = tmp_path / "bot.health"
    path.write_text("1700000000.000\n")

    healthy, reason = check_health(path, max_age=60, now=1_700_000_000 - 3600)

    assert not healthy
    assert "3600 s in the future" in reason


def test_a_heartbeat_slightly_in_the_future_passes_as_zero_seconds_old(tmp_path):
    path = tmp_path / "bot.health"
    path.write_text("1700000000.000\n")

    assert check_health(path, max_age=60, now=1_700_000_000 - 5) == (True, "last heartbeat 0 s ago")


def test_a_folder_in_place_of_the_file_fails_instead_of_raising(tmp_path):
    path = tmp_path / "bot.health"
    path.mkdir()

    healthy, reason = check_health(path, max_age=60)

    assert not healthy
    assert reason.startswith(f"cannot read heartbeat file {path}")


@pytest.mark.parametrize("max_age", [0, -1, float("nan")])
def test_max_age_must_be_positive(tmp_path, max_age):
    with pytest.raises(ValueError, match="max_age must be a positive number"):
        check_health(tmp_path / "bot.health", max_age=max_age)


def test_a_new_heartbeat_replaces_the_old_one_and_leaves_no_temporary_files(tmp_path):
    path = tmp_path / "bot.health"
    path.write_text("1000.000\n")

    write_heartbeat(path)

    assert beat_time(path) > 1000
    assert os.listdir(tmp_path) == ["bot.health"]


def test_the_parent_folder_is_created_if_missing(tmp_path):
    path = tmp_path / "run" / "corpus-bot" / "bot.health"

    write_heartbeat(path)

    assert check_health(path, max_age=60)[0]


def test_a_failed_write_raises_and_leaves_the_old_heartbeat_in_place(tmp_path, monkeypatch):
    path = tmp_path / "bot.health"
    path.write_text("1000.000\n")

    def failing_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_heartbeat(path)

    assert path.read_text() == "1000.000\n"
    assert os.listdir(tmp_path) == ["bot.health"]


def test_the_default_allows_one_missed_discord_gateway_heartbeat():
    # Discord asks for a heartbeat every ~41.25 s; a check must not fail between two of them.
    assert 2 * 41.25 < DEFAULT_MAX_AGE


def test_the_checker_does_not_import_discord_or_the_search_engine():
    # `python -m bot health` runs every 30 s in the container: it must stay cheap.
    code = "import sys, bot.health; print(sorted(m for m in sys.modules if m.split('.')[0] in {'discord', 'numpy', 'nltk'}))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)

    assert result.stdout.strip() == "[]"
