"""Timing and memory readings shared by the benchmark's child processes (Linux: they read /proc)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

T = TypeVar("T")


def rss_mb(field: str = "VmRSS") -> float:
    """A memory figure of this process from /proc/self/status, in MB; VmHWM is the peak RSS."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"{field} is not in /proc/self/status")


def peak_rss_mb() -> float:
    return rss_mb("VmHWM")


def reset_peak_rss() -> None:
    """Start VmHWM again from the current RSS, so a peak belongs to the step measured next."""
    Path("/proc/self/clear_refs").write_text("5")


def timed(function: Callable[..., T], *args: object) -> tuple[T, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def latency_ms(seconds: list[float]) -> dict[str, float]:
    ms = np.array(seconds) * 1000
    return {"p50": float(np.percentile(ms, 50)), "p99": float(np.percentile(ms, 99)), "n": len(ms)}


def mapped_mb() -> dict[str, float]:
    """RSS of each file this process maps (its pages the kernel counts as the process's), by file name, in MB."""
    found: dict[str, float] = {}
    name = ""
    for line in Path("/proc/self/smaps").read_text().splitlines():
        head = line.split(maxsplit=5)
        if len(head) >= 5 and "-" in head[0] and ":" in head[3]:  # a mapping's first line: address, perms, offset, dev, inode [path]
            name = Path(head[5]).name if len(head) == 6 and head[5].startswith("/") else ""
        elif name and line.startswith("Rss:"):
            found[name] = found.get(name, 0.0) + int(line.split()[1]) / 1024
    return {file: mb for file, mb in sorted(found.items(), key=lambda item: -item[1]) if mb >= 0.05}
