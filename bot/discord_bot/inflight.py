"""The questions and clicks being handled, so that stopping lets them finish instead of cutting them off.

Every way work enters the bot (a command, a mention or DM, a button) calls `admit()` first, in the
task that does the work. On SIGTERM `drain()` stops admitting: new questions get RESTARTING as
their reply, the ones in flight get up to a grace period to be answered, and only then does the
bot close its connection, so no reply is attempted on a closed session.
"""

from __future__ import annotations

import asyncio
import time

RESTARTING = "I'm restarting, so I can't take new questions for a moment. Please ask again in a minute."


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()
        self.closing = False
        self._deadline = 0.0  # when (time.monotonic) the drain cancels what is left

    def admit(self) -> bool:
        """Count the current task as work to finish before closing; False once closing (reply RESTARTING instead).

        A refused task is counted too, so its RESTARTING reply is sent before the connection closes.
        """
        task = asyncio.current_task()
        if task is not None and task not in self._tasks:
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return not self.closing

    def can_finish(self, seconds: float) -> bool:
        """Whether work starting now and taking `seconds` would end before the drain's deadline (always, until closing).

        A question still waiting for a search when the stop comes is told to come back instead of being
        searched and cut off: under a flood the queue holds far more than the grace can answer.
        Any thread may ask (a search thread does, as it takes the next question).
        """
        return not self.closing or time.monotonic() + seconds < self._deadline

    def __len__(self) -> int:
        return len(self._tasks)

    async def drain(self, grace: float) -> int:
        """Stop admitting, wait up to `grace` seconds for the work in flight, cancel the rest; return how many."""
        self.closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        self._deadline = time.monotonic() + grace
        while pending := await self._pending():
            remaining = deadline - loop.time()
            if remaining <= 0:
                for task in pending:
                    task.cancel()
                await asyncio.gather(*pending, return_exceptions=True)
                return len(pending)
            await asyncio.wait(pending, timeout=remaining)
        return 0

    async def _pending(self) -> set[asyncio.Task[object]]:
        """The admitted tasks still running, after letting tasks that events just created reach `admit()`."""
        for _ in range(3):
            await asyncio.sleep(0)
        return self._tasks - {asyncio.current_task()}
