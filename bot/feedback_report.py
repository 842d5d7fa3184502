"""Summarise the 👍/👎 feedback file for the operator: which answers people rated worst.

The Discord layer appends one JSON object per vote to FEEDBACK_FILE (bot/discord_bot/feedback.py,
written in bot/discord_bot/views.py): `time`, `vote` ("up" or "down"), `user` (a pseudonym),
`question`, `sentence_ids` (the sentences the answer showed), `message_id`, `channel_id` and
`guild_id`. Reading it needs neither Discord nor the engine.

An answer is a question and the sentences shown for it, so the same answer given to several
people is rated as one. A person's clicks on one message count once, their last vote. A line
that cannot be read (a crash mid-write, a hand edit) is skipped with a note naming it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

VOTES = ("up", "down")


@dataclass(frozen=True)
class Vote:
    time: str
    vote: str
    user: str
    question: str
    sentence_ids: tuple[int, ...]
    message_id: int | None


@dataclass
class Rating:
    """Everyone's votes on one answer."""

    question: str
    sentence_ids: tuple[int, ...]
    up: int = 0
    down: int = 0
    last: str = ""

    @property
    def net(self) -> int:
        return self.up - self.down


@dataclass
class Summary:
    ratings: list[Rating]  # worst first
    votes: int
    people: int
    first: str
    last: str
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FeedbackFile:
    """What a feedback file holds: the votes that can be read, and each other line's number and why not."""

    votes: list[Vote]
    skipped: list[tuple[int, str]]

    def notes(self, name: str) -> list[str]:
        return [f"{name} line {number}: {why}; skipped" for number, why in self.skipped]


def read_votes(path: Path) -> FeedbackFile:
    """Every vote in the feedback file, the one reader of it (the `feedback` and `check` commands, `/stats`).

    A line that is not UTF-8, not JSON or not a vote is skipped, never fatal. OSError if the file cannot be read.
    """
    votes: list[Vote] = []
    skipped: list[tuple[int, str]] = []
    with path.open("rb") as file:
        for number, raw in enumerate(file, start=1):
            if not raw.strip():
                continue
            try:
                votes.append(_vote(json.loads(raw.decode("utf-8").strip())))
            except UnicodeDecodeError:
                skipped.append((number, "not UTF-8 text"))
            except json.JSONDecodeError as error:
                skipped.append((number, f"not JSON at column {error.colno} ({error.msg})"))
            except ValueError as error:
                skipped.append((number, str(error)))
    return FeedbackFile(votes, skipped)


def _vote(record: Any) -> Vote:
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    vote = record.get("vote")
    if vote not in VOTES:
        raise ValueError(f"'vote' is {vote!r}, not 'up' or 'down'")
    ids = record.get("sentence_ids", [])
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ValueError("'sentence_ids' is not a list of whole numbers")
    message_id = record.get("message_id")
    return Vote(
        time=str(record.get("time") or ""),
        vote=vote,
        user=str(record.get("user") or ""),
        question=" ".join(str(record.get("question") or "").split()),
        sentence_ids=tuple(ids),
        message_id=message_id if isinstance(message_id, int) else None,
    )


def summarise(votes: list[Vote], notes: list[str] | None = None) -> Summary:
    """Rate each answer by its latest vote per person and message; worst first.

    Worst means the lowest 👍 minus 👎, then the most 👎, then the most recently rated.
    """
    latest: dict[tuple[str, int] | int, Vote] = {}
    for index, vote in enumerate(sorted(votes, key=lambda v: v.time)):
        key = (vote.user, vote.message_id) if vote.user and vote.message_id is not None else index
        latest[key] = vote
    ratings: dict[tuple[str, tuple[int, ...]], Rating] = {}
    for vote in latest.values():
        rating = ratings.setdefault(
            (vote.question.casefold(), vote.sentence_ids), Rating(vote.question, vote.sentence_ids)
        )
        if vote.vote == "up":
            rating.up += 1
        else:
            rating.down += 1
        rating.last = max(rating.last, vote.time)
    ordered = sorted(ratings.values(), key=lambda r: r.last, reverse=True)
    ordered.sort(key=lambda r: (r.net, -r.down))
    times = [v.time for v in latest.values() if v.time]
    return Summary(
        ratings=ordered,
        votes=len(latest),
        people=len({v.user for v in latest.values() if v.user}),
        first=min(times, default=""),
        last=max(times, default=""),
        notes=list(notes or []),
    )


def load_summary(path: Path) -> Summary:
    """Read and summarise the feedback file; OSError if it cannot be read at all."""
    read = read_votes(path)
    return summarise(read.votes, read.notes(str(path)))


def render(summary: Summary, source: Path, limit: int, width: int = 88) -> str:
    """The summary as terminal text: totals, then the `limit` worst-rated answers."""
    if not summary.votes:
        return f"No votes in {source} yet."
    ups = sum(r.up for r in summary.ratings)
    downs = sum(r.down for r in summary.ratings)
    period = f", {summary.first[:10]} to {summary.last[:10]}" if summary.first else ""
    lines = [
        f"{summary.votes} votes ({ups} 👍, {downs} 👎) on {len(summary.ratings)} answers "
        f"from {summary.people} people ({source}{period}).",
        "",
        f"{'net':>4} {'up':>4} {'down':>4}  {'last vote':<10}  question → sentences shown",
    ]
    for rating in summary.ratings[:limit]:
        shown = ", ".join(map(str, rating.sentence_ids)) or "none"
        question = _clip(rating.question or "(question not recorded)", width - 32 - len(shown))
        lines.append(
            f"{rating.net:>+4} {rating.up:>4} {rating.down:>4}  {rating.last[:10]:<10}  {question} → {shown}"
        )
    hidden = len(summary.ratings) - limit
    if hidden > 0:
        lines.append(f"… and {hidden} more answers (--limit {len(summary.ratings)} shows them all).")
    return "\n".join(lines)


def _clip(text: str, room: int) -> str:
    room = max(room, 20)
    return text if len(text) <= room else text[: room - 1].rstrip() + "…"
