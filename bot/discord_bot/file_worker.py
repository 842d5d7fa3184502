"""Blocking file writes on a daemon thread of their own, never on the threads that search.

A write can hang for good: a network mount that stopped answering, a full NFS server, a named
pipe with no reader. Run through asyncio's default pool, a few such writes would hold every
worker, and the searches queued behind them would never run; the pool's threads would also keep
the process alive after SIGTERM. Here a stuck write holds only its own daemon thread, callers stop
waiting after `timeout` seconds, and a daemon thread cannot delay the interpreter's exit.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")
_Job = tuple[Callable[[], Any], asyncio.AbstractEventLoop, "asyncio.Future[Any]"]


class FileWorker:
    """Runs blocking calls one at a time, in order, on one daemon thread (started on first use)."""

    def __init__(self, name: str, backlog: int = 100) -> None:
        self.name = name
        self._jobs: queue.Queue[_Job] = queue.Queue(maxsize=backlog)
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()

    async def run(self, function: Callable[[], T], *, timeout: float) -> T:
        """`function()`'s result, or its exception; TimeoutError (an OSError) if it is not done within `timeout` s.

        After a timeout the call still runs when the thread gets to it; only the waiting stops.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._ensure_thread()
        try:
            self._jobs.put_nowait((function, loop, future))
        except queue.Full:
            raise TimeoutError(f"{self._jobs.maxsize} earlier {self.name} writes are still waiting") from None
        try:
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise TimeoutError(f"the {self.name} write did not finish within {timeout:g} s") from None

    def _ensure_thread(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"{self.name} writer", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            function, loop, future = self._jobs.get()
            try:
                outcome: tuple[str, Any] = ("result", function())
            except Exception as error:  # handed to the caller, whose code decides what it means
                outcome = ("error", error)
            try:
                loop.call_soon_threadsafe(_settle, future, outcome)
            except RuntimeError:
                pass  # the event loop has closed: nobody is waiting any more


def _settle(future: asyncio.Future[Any], outcome: tuple[str, Any]) -> None:
    if future.done():
        return  # the caller stopped waiting, which cancelled the future
    kind, value = outcome
    if kind == "result":
        future.set_result(value)
    else:
        future.set_exception(value)
