"""Append 👍/👎 feedback to a local JSONL file for the operator to read, under pseudonymous user ids."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any


class FeedbackLog:
    """One JSON object per line; appends are serialised so concurrent clicks never interleave."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def append(self, record: Mapping[str, Any]) -> None:
        """Blocking file I/O: call it with asyncio.to_thread."""
        line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as file:
                file.write(line)


def user_hash(user_id: int) -> str:
    """A short stable pseudonym for logs and feedback, so neither holds raw user ids."""
    return hashlib.sha256(f"discord-user:{user_id}".encode()).hexdigest()[:12]
