"""Hostile input against the real bot: whitespace runs in articles, `!reload` of them, and a burst of votes.

    python bench/hostile.py                 # 1 MB runs, 450 clicks
    python bench/hostile.py --run 4000000 --clicks 1000

1. Loading: `Engine.from_dir` (BM25 alone, no saved index) over a folder of three articles, each with a
   `--run`-character run: of spaces in a Markdown front-matter value, of form feeds in a .txt body,
   and of U+2028 in another .txt body; the seconds each takes alone and together (target: ≤ 10 s).
2. `!reload`: the real `python -m bot run` against the loopback Discord server (tests/loopback/server.py),
   serving the default corpus; the operator drops those three articles in and sends `!reload`, and a
   question is asked at once. Printed: the reload's time, the question's reply time, and the largest gap
   between gateway heartbeats (1 s interval) while it ran.
3. Votes: `--clicks` 👍 clicks on one answer, dispatched as fast as the gateway takes them; printed: the
   time the burst took to arrive, how many clickers heard "Thanks for the feedback!", and how many lines
   the feedback file holds (target: all of them).

This is a report, not a test: nothing here fails a build. Linux only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import signal
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from loopback.server import LoopbackDiscord, custom_ids  # noqa: E402  (tests/ is on sys.path for this script)

from bot.search.engine import Engine  # noqa: E402

TOKEN = "bench-token"
QUESTION = "what does microsoft get from openai?"
SAVED = "Thanks for the feedback!"


def hostile_articles(folder: Path, run: int) -> dict[str, Path]:
    files = {
        "spaces in front matter": folder / "zz-front-matter.md",
        "form feeds": folder / "zz-form-feeds.txt",
        "U+2028": folder / "zz-line-separators.txt",
    }
    files["spaces in front matter"].write_text(
        f"---\ntitle: Harbour{' ' * run}lights\nauthor: {' ' * run}\n---\nThe harbour lights were lit at dusk.\n"
    )
    files["form feeds"].write_text(f"The keeper's log was kept daily.{chr(12) * run} It ran to nine volumes.\n")
    files["U+2028"].write_text(f"Storms closed the harbour twice.{chr(0x2028) * run} Both lasted a week.\n")
    return files


def loading(run: int, scratch: Path) -> None:
    print(f"1. loading, runs of {run:,} characters (Engine.from_dir, BM25 alone)")
    (scratch / "all").mkdir()
    for name, path in hostile_articles(scratch / "all", run).items():
        alone = scratch / name.replace(" ", "-")
        alone.mkdir()
        shutil.copy(path, alone)
        started = time.perf_counter()
        Engine.from_dir(alone)
        print(f"   {name:<24} {time.perf_counter() - started:6.2f} s")
    started = time.perf_counter()
    Engine.from_dir(scratch / "all")
    print(f"   {'all three together':<24} {time.perf_counter() - started:6.2f} s   (target ≤ 10 s)")


async def with_bot(scratch: Path, work: Callable[[LoopbackDiscord], Awaitable[None]]) -> None:
    """Run `work` against the real `python -m bot run` serving a copy of the default corpus."""
    server = LoopbackDiscord(token=TOKEN)
    server.heartbeat_interval_ms = 1000
    await server.start()
    corpus = scratch / "corpus"
    shutil.copytree(ROOT / "corpus", corpus, dirs_exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "OWNER_", "ALLOWED_", "ANSWER_"))}
    env.update(
        PYTHONPATH=str(ROOT), DISCORD_TOKEN=server.token, DISCORD_API_BASE=server.api_base,
        DISCORD_GATEWAY_URL=server.gateway_url, CORPUS_DIR=str(corpus), FEEDBACK_FILE=str(scratch / "feedback.jsonl"),
        OWNER_IDS=server.owner["id"], INDEX_CACHE="", HEALTH_FILE="", LOG_LEVEL="INFO", COOLDOWN_SECONDS="0",
    )
    with (scratch / "bot.log").open("wb") as log:
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
        )
    try:
        await server.wait_for(lambda: server.connection is not None, timeout=120)
        await work(server)
    finally:
        bot.send_signal(signal.SIGTERM)
        await asyncio.wait_for(bot.wait(), 30)
        await server.stop()


async def reloading(run: int, scratch: Path) -> None:
    print("2. !reload of those articles in the running bot, a question asked at once")

    async def work(server: LoopbackDiscord) -> None:
        await server.wait_for_reply(await server.post_message(server.make_user("warm"), f"!ask {QUESTION}"), timeout=120)
        hostile_articles(scratch / "reload" / "corpus", run)
        beats = len(server.heartbeats)
        started = time.monotonic()
        reload = await server.post_message(server.owner, "!reload")
        question = await server.post_message(server.make_user("ada"), f"!ask {QUESTION}")
        await server.wait_for_reply(question, timeout=600)
        answered = time.monotonic() - started
        content = (await server.wait_for_reply(reload, timeout=600)).json["content"]
        reloaded = time.monotonic() - started
        await asyncio.sleep(2.5)
        times = server.heartbeats[beats:]
        gap = max(later - earlier for earlier, later in zip(times, times[1:]))
        print(f"   reload reply after       {reloaded:6.2f} s   ({content.splitlines()[0]})")
        print(f"   question answered after  {answered:6.2f} s")
        print(f"   largest heartbeat gap    {gap:6.2f} s   (interval 1 s)")

    await with_bot(scratch / "reload", work)


async def voting(clicks: int, scratch: Path) -> None:
    print(f"3. a burst of {clicks} 👍 clicks on one answer")

    async def work(server: LoopbackDiscord) -> None:
        sent = await server.wait_for_reply(await server.post_message(server.make_user("asker"), f"!ask {QUESTION}"), timeout=120)
        answer = server.message_for(sent)
        button = next(i for i in custom_ids(answer) if i.startswith("answer:vote:up:"))
        started = time.monotonic()
        interactions = await asyncio.gather(*(server.click(server.make_user(f"v{n}"), answer, button) for n in range(clicks)))
        burst = time.monotonic() - started
        callbacks = [
            await server.wait_for_request("POST", rf"/interactions/{i['id']}/.+/callback", timeout=30) for i in interactions
        ]
        thanked = sum(c.json["data"]["content"] == SAVED for c in callbacks)
        await asyncio.sleep(0.5)
        lines = len((scratch / "votes" / "feedback.jsonl").read_text().splitlines())
        print(f"   clicks dispatched in     {burst:6.2f} s")
        print(f"   told the vote was saved  {thanked:6d} of {clicks}")
        print(f"   lines in the file        {lines:6d}")

    await with_bot(scratch / "votes", work)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", type=int, default=1_000_000, help="characters in each whitespace run")
    parser.add_argument("--clicks", type=int, default=450)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hostile-") as folder:
        scratch = Path(folder)
        loading(args.run, scratch)
        for part in ("reload", "votes"):
            (scratch / part).mkdir()
        asyncio.run(reloading(args.run, scratch))
        asyncio.run(voting(args.clicks, scratch))
    return 0


if __name__ == "__main__":
    sys.exit(main())
