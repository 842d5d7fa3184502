"""End to end: 👍/👎 when the feedback file hangs or the disk fills up, through the real `python -m bot run`.

A vote is only ever a line in a file, so no trouble with that file may cost an answer, a reply
to the clicker, a clean shutdown, or a record already written.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import time
from pathlib import Path
from typing import Any

import pytest
from loopback.server import LoopbackDiscord, custom_ids

from bot.discord_bot import feedback
from bot.discord_bot.feedback import append_line
from bot.discord_bot.run import EXIT_OK

from .helpers import StartBot, environment, finish, running_bot

QUESTION = "when was the lighthouse finished?"
SAVED = "Thanks for the feedback!"
NOT_SAVED = "Thanks! I couldn't save that right now; the operator has been told."



async def ask(loopback: LoopbackDiscord) -> dict[str, Any]:
    """Ask the question and return the bot's answer message, buttons included."""
    question = await loopback.post_message(loopback.make_user("asker"), f"!ask {QUESTION}")
    sent = await loopback.wait_for_reply(question, timeout=30)
    assert sent.json.get("embeds"), sent.json
    return loopback.message_for(sent)


async def click_vote(loopback: LoopbackDiscord, answer: dict[str, Any], vote: str) -> dict[str, Any]:
    button = next(i for i in custom_ids(answer) if i.startswith(f"answer:vote:{vote}:"))
    return await loopback.click(loopback.make_user("voter"), answer, button)


async def reply_to_click(loopback: LoopbackDiscord, interaction: dict[str, Any]) -> str:
    """The ephemeral text the bot answered a click with."""
    callback = await loopback.wait_for_request("POST", rf"/interactions/{interaction['id']}/.+/callback", timeout=10)
    assert callback.ok and callback.json["data"]["flags"] & 64
    return callback.json["data"]["content"]


async def test_a_feedback_write_that_never_returns_holds_up_neither_answers_nor_shutdown(
    loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    """Handling: `FeedbackLog` writes on a daemon thread of its own (`FileWorker`) and stops waiting after 1.5 s.

    A named pipe with no reader stands in for a hung network mount: opening it never returns. Through
    asyncio's default pool, eight such writes held every worker, so the clicks got no reply, later
    questions were never searched, and SIGTERM waited on the stuck threads.
    """
    fifo = tmp_path / "feedback.jsonl"
    os.mkfifo(fifo)
    env = environment(loopback, tmp_path, FEEDBACK_FILE=str(fifo), LOG_LEVEL="INFO")
    async with running_bot(loopback, env, tmp_path) as process:
        answer = await ask(loopback)
        clicks = [await click_vote(loopback, answer, "up") for _ in range(8)]
        assert [await reply_to_click(loopback, click) for click in clicks] == [NOT_SAVED] * 8
        for _ in range(3):
            await ask(loopback)
        stopping = time.monotonic()
        process.terminate()
        code, log = await finish(process, timeout=15)
    assert code == EXIT_OK and time.monotonic() - stopping < 10
    assert log.count(f"Cannot write feedback to {fifo}: the feedback write did not finish within 1.5 s") == 8
    assert "Traceback" not in log


async def test_a_vote_that_fills_the_disk_leaves_the_file_as_it_was_and_the_next_vote_is_whole(
    loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    """Handling: `append_line` writes the line with os.write and truncates the file back to its old size when a
    write fails part-way.

    A file-size limit (RLIMIT_FSIZE) on the bot's process stands in for a full disk: the kernel writes
    what fits, 100 bytes, then fails the rest (EFBIG, as ENOSPC would). Python's buffered append left
    those 100 bytes behind, and the next vote, once the limit was lifted, was glued onto them.
    """
    feedback = tmp_path / "feedback.jsonl"
    earlier = json.dumps({"vote": "up", "question": "an earlier vote"}) + "\n"
    feedback.write_text(earlier)
    room = feedback.stat().st_size + 100
    _, hard = resource.getrlimit(resource.RLIMIT_FSIZE)

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, hard))

    env = environment(loopback, tmp_path, FEEDBACK_FILE=str(feedback), LOG_LEVEL="INFO", PYTHONDONTWRITEBYTECODE="1")
    async with running_bot(loopback, env, tmp_path, preexec_fn=small_disk) as process:
        answer = await ask(loopback)
        assert await reply_to_click(loopback, await click_vote(loopback, answer, "up")) == NOT_SAVED
        assert feedback.read_text() == earlier
        resource.prlimit(process.pid, resource.RLIMIT_FSIZE, (hard, hard))  # space freed
        assert await reply_to_click(loopback, await click_vote(loopback, answer, "down")) == SAVED
        process.terminate()
        code, log = await finish(process)
    assert code == EXIT_OK
    first, second = feedback.read_text().splitlines(keepends=True)
    assert first == earlier and json.loads(second)["vote"] == "down"
    assert f"Cannot write feedback to {feedback}: [Errno 27] File too large" in log


async def test_a_feedback_file_that_is_a_link_is_never_written_through_and_said_once(
    loopback: LoopbackDiscord, tmp_path: Path
) -> None:
    """Handling: `append_line` opens FEEDBACK_FILE with O_NOFOLLOW and writes only to a regular file.

    A link planted at FEEDBACK_FILE (here to a stand-in for /etc/passwd) had each vote appended to its target,
    as root when the bot ran as root. Now the vote is refused, the clicker told, and the log says why once.
    """
    target = tmp_path / "passwd"
    target.write_text("root:x:0:0:root:/root:/bin/bash\n")
    link = tmp_path / "feedback.jsonl"
    link.symlink_to(target)
    env = environment(loopback, tmp_path, FEEDBACK_FILE=str(link), LOG_LEVEL="INFO")
    async with running_bot(loopback, env, tmp_path) as process:
        answer = await ask(loopback)
        for vote in ("up", "down", "up"):
            assert await reply_to_click(loopback, await click_vote(loopback, answer, vote)) == NOT_SAVED
        process.terminate()
        code, log = await finish(process)
    assert code == EXIT_OK
    assert target.read_text() == "root:x:0:0:root:/root:/bin/bash\n" and link.is_symlink()
    assert log.count(f"Cannot write feedback to {link}: {link} is a symbolic link, which is never followed") == 1, log


async def test_a_burst_of_450_clicks_on_a_slow_disk_saves_450_votes(
    start_bot: StartBot, loopback: LoopbackDiscord, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Handling: `FeedbackLog` appends every vote waiting for the disk in one write instead of queueing a job per
    click. Before, the writer's queue held 100 jobs: of 450 clicks within 0.11 s, 10 got NOT_SAVED; with each
    write taking 20 ms, as on a busy disk, most did. Now the clicks that arrive during a write share the next."""
    writes: list[int] = []

    def slow_append(path: Path, data: bytes) -> None:
        time.sleep(0.02)
        writes.append(data.count(b"\n"))
        append_line(path, data)

    monkeypatch.setattr(feedback, "append_line", slow_append)
    loopback.interaction_deadline = 30.0  # the point is the votes: give a loaded test machine time to answer 450 clicks
    await start_bot(feedback_file=tmp_path / "votes.jsonl")
    answer = await ask(loopback)
    button = next(i for i in custom_ids(answer) if i.startswith("answer:vote:up:"))
    clicks = await asyncio.gather(*(loopback.click(loopback.make_user(f"voter{n}"), answer, button) for n in range(450)))
    replies = await asyncio.gather(*(reply_to_click(loopback, click) for click in clicks))
    assert replies == [SAVED] * 450
    votes = [json.loads(line) for line in (tmp_path / "votes.jsonl").read_text().splitlines()]
    assert len(votes) == 450 and len({vote["user"] for vote in votes}) == 450
    assert sum(writes) == 450 and len(writes) < 450
