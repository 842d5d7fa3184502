"""Is the bot connected to Discord right now? A heartbeat file answers, for container health checks.

The Discord layer calls `write_heartbeat(path)` when it is ready and again while the gateway
keeps acknowledging heartbeats; `python -m bot health` calls `check_health(path, max_age)` and
exits 0 only when the last heartbeat is recent. A bot that crashed, hung or lost its gateway
connection stops writing, so the file goes stale and the check fails.

The file holds one line, the Unix time of the heartbeat (`time.time()`), because the writer and
the checker are different processes and wall-clock time is what they share. Pure stdlib: the
check must stay cheap and must not import discord.
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from pathlib import Path

# Discord's gateway asks for a heartbeat about every 41 seconds; 90 allows one missed beat.
DEFAULT_MAX_AGE = 90.0


_MOST_BYTES = 64


def write_heartbeat(path: Path) -> None:
    """Record "connected now" in `path`, atomically: a reader sees the old or the new time, never half.

    Creates the parent folder if needed. Raises OSError when the file cannot be written; the
    caller should log that and carry on, since a missing heartbeat only makes the check fail.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as file:
            file.write(f"{time.time():.3f}\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def check_health(path: Path, max_age: float, now: float | None = None) -> tuple[bool, str]:
    """Whether the heartbeat in `path` is at most `max_age` seconds old, and a one-line reason.

    `now` defaults to `time.time()`. A heartbeat more than `max_age` seconds in the future also
    fails: after the clock is set back, an old file must not pass for hours.
    """
    if not max_age > 0:
        raise ValueError(f"max_age must be a positive number of seconds, not {max_age!r}")
    path = Path(path)
    now = time.time() if now is None else now
    try:
        with path.open("rb") as file:  # a time is a few bytes: HEALTH_FILE pointing at /dev/zero is never read whole
            raw = file.read(_MOST_BYTES).decode("ascii", errors="replace").strip()
    except FileNotFoundError:
        return False, f"no heartbeat file at {path}: the bot has not connected yet (or HEALTH_FILE differs)"
    except OSError as error:
        return False, f"cannot read heartbeat file {path}: {error.strerror or error}"
    try:
        beat = float(raw)
    except ValueError:
        beat = math.nan
    if not math.isfinite(beat):
        return False, f"heartbeat file {path} does not hold a time ({raw[:40]!r})"
    age = now - beat
    if age > max_age:
        return False, f"last heartbeat {age:.0f} s ago, more than {max_age:g} s: the bot is not connected"
    if age < -max_age:
        return False, f"last heartbeat is {-age:.0f} s in the future: was the clock changed?"
    return True, f"last heartbeat {max(age, 0.0):.0f} s ago"
