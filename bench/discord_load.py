"""Load the real `python -m bot run` process with a burst of questions through the loopback Discord server.

    python bench/discord_load.py                         # 1,000 questions: 100 users x 10, in 10 channels
    python bench/discord_load.py --users 500 --per-user 10 --corpus path/to/articles
    python bench/discord_load.py --bursts 5               # does memory settle after the first burst?

The script starts the loopback server (tests/loopback/server.py) on 127.0.0.1, starts the bot as a
child process pointed at it (DISCORD_API_BASE, DISCORD_GATEWAY_URL), waits until a first question
is answered, asks --sequential questions one at a time (the latency of a quiet bot), then posts the
burst as fast as the gateway takes it: half `!ask`, half mentions. It prints reply latency (from
the question's dispatch to the reply's arrival at the server; in a burst mostly time in the queue)
at p50, p90, p99 and max, throughput, the largest gap between gateway heartbeats, and the bot's memory
(VmRSS, and VmHWM, its peak resident set, from /proc/<pid>/status). Then it sends SIGTERM and
reports the exit code. The cooldown is off unless --cooldown is given, so every question is answered.
This is a report, not a test: nothing here fails a build. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from loopback.server import LoopbackDiscord, Recorded  # noqa: E402  (tests/ is on sys.path for this script)

TOKEN = "bench-token"
QUESTIONS = (
    "why are microsoft and openai renegotiating their partnership?",
    "when could openai go public?",
    "what does microsoft get from openai?",
    "how much has microsoft invested in openai?",
    "what happens to the agi clause?",
)
NOTICE = "You're asking faster than I can keep up with."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--per-user", type=int, default=10, help="questions each user asks")
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--corpus", type=Path, default=None, help="CORPUS_DIR for the bot (default: its own default)")
    parser.add_argument("--cooldown", type=int, default=0, metavar="N", help="allow N questions per user per hour (0: off)")
    parser.add_argument("--sequential", type=int, default=50, help="questions asked one at a time before the burst")
    parser.add_argument("--bursts", type=int, default=1, help="bursts in a row, each from fresh users (memory over time)")
    parser.add_argument("--heartbeat-ms", type=int, default=1000, help="the gateway heartbeat interval to announce")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds to wait for every reply")
    return asyncio.run(bench(parser.parse_args()))


async def bench(args: argparse.Namespace) -> int:
    server = LoopbackDiscord(token=TOKEN)
    server.heartbeat_interval_ms = args.heartbeat_ms
    channels = [server.general, *(server.add_channel(f"load-{n}") for n in range(1, args.channels))]
    await server.start()
    with tempfile.TemporaryDirectory(prefix="discord-load-") as scratch:
        log_path = Path(scratch) / "bot.log"
        with log_path.open("wb") as log:
            bot = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", cwd=ROOT, env=environment(server, args, Path(scratch)),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
            )
        try:
            code = await measure(server, bot.pid, channels, args)
        finally:
            if bot.returncode is None:
                bot.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(bot.wait(), 30)
                except asyncio.TimeoutError:
                    bot.kill()
                    await bot.wait()
            await server.stop()
        print(f"exit code after SIGTERM: {bot.returncode}")
        if code or bot.returncode:
            print(f"--- the bot's log ({log_path.stat().st_size} bytes), last lines ---")
            print("\n".join(log_path.read_text(errors="replace").splitlines()[-20:]))
    return code or (bot.returncode or 0)


def environment(server: LoopbackDiscord, args: argparse.Namespace, scratch: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "BOT_", "OWNER_", "ALLOWED_", "ANSWER_"))}
    env.update(
        PYTHONPATH=str(ROOT),
        DISCORD_TOKEN=server.token,
        DISCORD_API_BASE=server.api_base,
        DISCORD_GATEWAY_URL=server.gateway_url,
        FEEDBACK_FILE=str(scratch / "feedback.jsonl"),
        INDEX_CACHE="",
        HEALTH_FILE="",
        LOG_LEVEL="INFO",
        COOLDOWN_SECONDS="3600" if args.cooldown else "0",
        COOLDOWN_QUESTIONS=str(args.cooldown or 1),
    )
    if args.corpus is not None:
        env["CORPUS_DIR"] = str(args.corpus.resolve())
    return env


async def measure(server: LoopbackDiscord, pid: int, channels: list[Any], args: argparse.Namespace) -> int:
    started = time.monotonic()
    await server.wait_for(lambda: server.connection is not None, timeout=120)
    warm_up = await server.post_message(server.make_user("warm-up"), f"!ask {QUESTIONS[0]}")
    await server.wait_for_reply(warm_up, timeout=60)
    print(f"bot ready in {time.monotonic() - started:.1f} s (pid {pid}); {memory(pid)}")
    quiet = []
    for n in range(args.sequential):
        at = time.monotonic()
        question = await server.post_message(server.make_user(f"quiet{n}"), f"!ask {QUESTIONS[n % len(QUESTIONS)]}")
        quiet.append(((await server.wait_for_reply(question, timeout=60)).at - at) * 1000)
    if len(quiet) >= 2:
        cut = statistics.quantiles(quiet, n=100, method="inclusive")
        print(f"one at a time: {len(quiet)} questions, latency ms p50 {cut[49]:.1f}, p99 {cut[98]:.1f}")
    for number in range(1, args.bursts + 1):
        if not await burst(server, pid, channels, args, number):
            return 1
    return 0


async def burst(server: LoopbackDiscord, pid: int, channels: list[Any], args: argparse.Namespace, number: int) -> bool:
    """Post one burst from fresh users and report on it; True when every question got exactly one reply."""
    users = [server.make_user(f"user{number}-{n:04}") for n in range(args.users)]
    posted: dict[str, float] = {}
    replies: dict[str, Recorded] = {}
    attempts: Counter[str] = Counter()
    seen = len(server.requests)

    def count() -> int:
        nonlocal seen
        for request in server.requests[seen:]:
            if request.method == "POST" and request.path.endswith("/messages"):
                reference = str(((request.json or {}).get("message_reference") or {}).get("message_id"))
                if reference in posted:
                    attempts[reference] += 1
                    if request.ok and not request.duplicate:
                        replies.setdefault(reference, request)
        seen = len(server.requests)
        return len(replies)

    total = args.users * args.per_user
    beats_before = len(server.heartbeats)
    cpu_before = cpu_seconds(pid)
    first = time.monotonic()
    for round_ in range(args.per_user):
        for n, user in enumerate(users):
            text = QUESTIONS[(n + round_) % len(QUESTIONS)]
            mention = (n + round_) % 2 == 0
            at = time.monotonic()
            message = await server.post_message(
                user, text if mention else f"!ask {text}", channel=channels[(n + round_) % len(channels)],
                mention_bot=mention,
            )
            posted[message["id"]] = at
    dispatched = time.monotonic() - first
    try:
        await server.wait_for(lambda: count() >= total, timeout=args.timeout)
    except asyncio.TimeoutError:
        print(f"burst {number} timed out: {count()} of {total} questions got a reply")
        return False
    last = max(reply.at for reply in replies.values())
    cpu = cpu_seconds(pid) - cpu_before
    beats = len(server.heartbeats)
    await server.wait_for(lambda: len(server.heartbeats) >= beats + 1, timeout=3 * args.heartbeat_ms / 1000)

    latencies = sorted((replies[qid].at - posted[qid]) * 1000 for qid in posted)
    percentile = statistics.quantiles(latencies, n=100, method="inclusive")
    notices = sum(((r.json or {}).get("content") or "").startswith(NOTICE) for r in replies.values())
    times = server.heartbeats[beats_before:]
    gaps = [b - a for a, b in zip(times, times[1:])]
    print(
        f"burst {number}: {total} questions from {args.users} users in {len(channels)} channels "
        f"(half !ask, half mentions), dispatched in {dispatched:.2f} s"
    )
    print(
        f"  replies: {len(replies)} of {total} ({notices} cooldown notices); "
        f"questions with more than one reply request: {sum(n > 1 for n in attempts.values())}"
    )
    print(
        f"  latency ms: p50 {percentile[49]:.0f}, p90 {percentile[89]:.0f}, p99 {percentile[98]:.0f}, "
        f"max {latencies[-1]:.0f}, min {latencies[0]:.0f}"
    )
    print(
        f"  throughput: {total / (last - first):.0f} replies/s ({last - first:.2f} s from the first question "
        f"to the last reply); bot CPU {cpu:.1f} s"
    )
    print(f"  heartbeats: {len(gaps)} gaps, largest {max(gaps, default=0):.3f} s (interval {args.heartbeat_ms / 1000:g} s)")
    print(f"  after the burst: {memory(pid)}")
    return len(replies) == total and all(n == 1 for n in attempts.values())


def memory(pid: int) -> str:
    """The bot's resident memory now and at its peak (VmHWM), from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return f"RSS {kib_to_mb(fields['VmRSS'])} MB, peak RSS (VmHWM) {kib_to_mb(fields['VmHWM'])} MB"


def kib_to_mb(value: str) -> str:
    return f"{int(value.split()[0]) / 1024:.0f}"


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
