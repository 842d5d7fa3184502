"""`python -m bot serve` running for a benchmark, so the `ask`s it times put their questions to it."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def serving(env: dict[str, str]) -> Iterator[None]:
    """The server with these settings, from the moment it listens until the block ends."""
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        while not (line := server.stderr.readline()).startswith("Answering"):
            if not line:
                raise RuntimeError(f"python -m bot serve stopped before it listened (exit {server.wait()})")
        yield
    finally:
        server.terminate()
        server.wait()
