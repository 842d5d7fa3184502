"""Load the real `python -m bot run` process with a burst of questions through the loopback Discord server.

    python bench/discord_load.py                         # 1,000 questions: 100 users x 10, in 10 channels
    python bench/discord_load.py --users 500 --per-user 10 --corpus path/to/articles
    python bench/discord_load.py --bursts 5               # does memory settle after the first burst?
    python bench/discord_load.py --soak 20000 --rate 200  # a steady stream, reported every 2,000 questions
    python bench/discord_load.py --soak 20000 --novel-words   # each question brings a word never seen before

The script starts the loopback server (tests/loopback/server.py) on 127.0.0.1, starts the bot as a
child process pointed at it (DISCORD_API_BASE, DISCORD_GATEWAY_URL), waits until a first question
is answered, asks --sequential questions one at a time (the latency of a quiet bot), then posts the
burst as fast as the gateway takes it: half `!ask`, half mentions. It prints reply latency (from
the question's dispatch to the reply's arrival at the server; in a burst mostly time in the queue)
at p50, p90, p99 and max, throughput, the largest gap between gateway heartbeats, and the bot's memory
(VmRSS, and VmHWM, its peak resident set, from /proc/<pid>/status). Then it sends SIGTERM and
reports the exit code. The cooldown is off unless --cooldown is given, so every question is answered.

With --soak N it posts N questions at a steady --rate instead of bursts, and prints, for every
--report-every questions (2,000), their reply latency at p50 and p99, how many were told to come
back later (a flood past MAX_ANSWER_DELAY or 2,000 waiting) and the latest answer among the others,
the largest heartbeat gap while they were answered, and the bot's memory after them: whether anything
degrades or grows over time. --novel-words adds a made-up word to each question, as users with typos and names do, which
is what the tokenizer's caches must not grow without bound on.
At the end it reads the bot's log: how late each answer was sent against the lateness the bot
predicted when it took the question (the estimate MAX_ANSWER_DELAY is checked against).
This is a report, not a test: nothing here fails a build. Linux only (/proc).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
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

from bot.discord_bot.failures import BUSY  # noqa: E402

TOKEN = "bench-token"
QUESTIONS = (
    "why are microsoft and openai renegotiating their partnership?",
    "when could openai go public?",
    "what does microsoft get from openai?",
    "how much has microsoft invested in openai?",
    "what happens to the agi clause?",
)
NOTICE = "You're asking faster than I can keep up with."
ESTIMATE = re.compile(r"answered .* late_s=([\d.]+) predicted_s=([\d.]+)")


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
    parser.add_argument("--soak", type=int, default=0, metavar="N", help="post N questions at --rate instead of bursts")
    parser.add_argument("--rate", type=float, default=200.0, help="questions a second in a soak")
    parser.add_argument("--report-every", type=int, default=2000, help="questions per row of the soak report")
    parser.add_argument("--novel-words", action="store_true", help="put a never-seen word in every question")
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
            print(estimate_errors(log_path.read_text(errors="replace")))
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
    if args.soak:
        return 0 if await soak(server, pid, channels, args) else 1
    for number in range(1, args.bursts + 1):
        if not await burst(server, pid, channels, args, number):
            return 1
    return 0


class Replies:
    """The bot's replies to the questions posted, counted from the server's request log as it grows."""

    def __init__(self, server: LoopbackDiscord) -> None:
        self.server = server
        self.posted: dict[str, float] = {}  # question id: when it was dispatched
        self.first: dict[str, Recorded] = {}  # question id: the accepted reply
        self.attempts: Counter[str] = Counter()
        self.group_of: dict[str, int] = {}  # question id: its group (a soak's window)
        self.answered: Counter[int] = Counter()  # group: questions with a reply, kept so checks stay O(1)
        self._seen = len(server.requests)

    def post_time(self, message: dict[str, Any], at: float, group: int = 0) -> None:
        self.posted[message["id"]] = at
        self.group_of[message["id"]] = group

    def count(self) -> int:
        for request in self.server.requests[self._seen :]:
            if request.method == "POST" and request.path.endswith("/messages"):
                reference = str(((request.json or {}).get("message_reference") or {}).get("message_id"))
                if reference in self.posted:
                    self.attempts[reference] += 1
                    if request.ok and not request.duplicate and reference not in self.first:
                        self.first[reference] = request
                        self.answered[self.group_of[reference]] += 1
        self._seen = len(self.server.requests)
        return len(self.first)

    def latencies_ms(self, ids: list[str]) -> list[float]:
        return sorted((self.first[qid].at - self.posted[qid]) * 1000 for qid in ids)

    def exactly_once(self) -> bool:
        return len(self.first) == len(self.posted) and all(n == 1 for n in self.attempts.values())


def question_text(n: int, round_: int, novel: bool) -> tuple[str, bool]:
    """The question's words and whether it is asked by mention (else by `!ask`)."""
    text = QUESTIONS[(n + round_) % len(QUESTIONS)]
    if novel:
        text = text.rstrip("?") + f" {made_up_word(n * 7919 + round_)}?"
    return text, (n + round_) % 2 == 0


def made_up_word(seed: int) -> str:
    """A lowercase word no corpus holds, different for every seed (base-26 digits, 12 to 20 letters)."""
    letters = []
    value = seed * 2654435761 + 10**17
    while value:
        value, digit = divmod(value, 26)
        letters.append(chr(ord("a") + digit))
    return "".join(letters)[:20]


async def soak(server: LoopbackDiscord, pid: int, channels: list[Any], args: argparse.Namespace) -> bool:
    """Post --soak questions at --rate and report each --report-every of them; True if every one got one reply."""
    users = [server.make_user(f"soak-{n:04}") for n in range(args.users)]
    replies = Replies(server)
    windows: list[list[str]] = []
    beats: list[int] = []  # heartbeats received when each window began
    print(
        f"soak: {args.soak} questions at {args.rate:g}/s from {args.users} users in {len(channels)} channels"
        f"{', each with a new word' if args.novel_words else ''}; one row per {args.report_every}"
    )
    print(
        f"{'questions':>9} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'come back':>9} {'answered max ms':>15} "
        f"{'max beat gap s':>14} {'RSS MB':>7} {'peak MB':>7}"
    )

    async def post_all() -> None:
        started = time.monotonic()
        for n in range(args.soak):
            if n % args.report_every == 0:
                windows.append([])
                beats.append(len(server.heartbeats))
            await asyncio.sleep(max(0.0, started + n / args.rate - time.monotonic()))
            text, mention = question_text(n % args.users, n // args.users, args.novel_words)
            at = time.monotonic()
            message = await server.post_message(
                users[n % args.users], text if mention else f"!ask {text}",
                channel=channels[n % len(channels)], mention_bot=mention,
            )
            replies.post_time(message, at, len(windows) - 1)
            windows[-1].append(message["id"])

    posting = asyncio.create_task(post_all())
    done = 0
    try:
        for number in range(-(-args.soak // args.report_every)):
            await server.wait_for(lambda: len(windows) > number + 1 or posting.done(), timeout=args.timeout)
            window = windows[number]
            await server.wait_for(
                lambda: replies.count() >= 0 and replies.answered[number] == len(window), timeout=args.timeout
            )
            latencies = replies.latencies_ms(window)
            cut = statistics.quantiles(latencies, n=100, method="inclusive")
            refused = [qid for qid in window if (replies.first[qid].json or {}).get("content") == BUSY]
            answered = replies.latencies_ms([qid for qid in window if qid not in set(refused)]) or [0.0]
            times = server.heartbeats[beats[number] :]
            gap = max((b - a for a, b in zip(times, times[1:])), default=0.0)
            done += len(window)
            rss, peak = memory_mb(pid)
            print(
                f"{done:>9} {cut[49]:>7.0f} {cut[98]:>7.0f} {latencies[-1]:>7.0f} {len(refused):>9} {answered[-1]:>15.0f} "
                f"{gap:>14.3f} {rss:>7.0f} {peak:>7.0f}"
            )
            # The loopback server keeps every request and message: without this its own full garbage
            # collections (close to a second by the end) would delay heartbeats and replies it receives
            # and pass for the bot's pauses.
            gc.freeze()
    except asyncio.TimeoutError:
        print(f"soak timed out: {replies.count()} of {len(replies.posted)} questions got a reply")
        return False
    finally:
        posting.cancel()
    replies.count()
    print(f"  replies: {len(replies.first)} of {args.soak}; exactly one each: {replies.exactly_once()}")
    return replies.exactly_once()


async def burst(server: LoopbackDiscord, pid: int, channels: list[Any], args: argparse.Namespace, number: int) -> bool:
    """Post one burst from fresh users and report on it; True when every question got exactly one reply."""
    users = [server.make_user(f"user{number}-{n:04}") for n in range(args.users)]
    replies = Replies(server)
    total = args.users * args.per_user
    beats_before = len(server.heartbeats)
    cpu_before = cpu_seconds(pid)
    first = time.monotonic()
    for round_ in range(args.per_user):
        for n, user in enumerate(users):
            text, mention = question_text(n, round_, args.novel_words)
            at = time.monotonic()
            message = await server.post_message(
                user, text if mention else f"!ask {text}", channel=channels[(n + round_) % len(channels)],
                mention_bot=mention,
            )
            replies.post_time(message, at)
    dispatched = time.monotonic() - first
    try:
        await server.wait_for(lambda: replies.count() >= total, timeout=args.timeout)
    except asyncio.TimeoutError:
        print(f"burst {number} timed out: {replies.count()} of {total} questions got a reply")
        return False
    last = max(reply.at for reply in replies.first.values())
    cpu = cpu_seconds(pid) - cpu_before
    beats = len(server.heartbeats)
    await server.wait_for(lambda: len(server.heartbeats) >= beats + 1, timeout=3 * args.heartbeat_ms / 1000)

    latencies = replies.latencies_ms(list(replies.posted))
    percentile = statistics.quantiles(latencies, n=100, method="inclusive")
    notices = sum(((r.json or {}).get("content") or "").startswith(NOTICE) for r in replies.first.values())
    times = server.heartbeats[beats_before:]
    gaps = [b - a for a, b in zip(times, times[1:])]
    print(
        f"burst {number}: {total} questions from {args.users} users in {len(channels)} channels "
        f"(half !ask, half mentions), dispatched in {dispatched:.2f} s"
    )
    print(
        f"  replies: {len(replies.first)} of {total} ({notices} cooldown notices); "
        f"questions with more than one reply request: {sum(n > 1 for n in replies.attempts.values())}"
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
    return replies.exactly_once()


def estimate_errors(log: str) -> str:
    """How late the bot's answers were (its `late_s`) against what it predicted when it took each question."""
    pairs = [(float(late), float(predicted)) for late, predicted in ESTIMATE.findall(log)]
    if len(pairs) < 2:
        return "estimate: too few answers logged"
    errors = sorted(late - predicted for late, predicted in pairs)
    cut = statistics.quantiles(errors, n=100, method="inclusive")
    return (
        f"estimate: {len(pairs)} answers; late minus predicted, s: p1 {cut[0]:.1f}, p50 {cut[49]:.1f}, "
        f"p99 {cut[98]:.1f}, max {errors[-1]:.1f}; latest answer {max(late for late, _ in pairs):.1f} s late"
    )


def memory(pid: int) -> str:
    """The bot's resident memory now and at its peak (VmHWM), from /proc."""
    rss, peak = memory_mb(pid)
    return f"RSS {rss:.0f} MB, peak RSS (VmHWM) {peak:.0f} MB"


def memory_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) of the process in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        fields[name] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
