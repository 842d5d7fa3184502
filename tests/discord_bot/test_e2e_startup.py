"""End to end: what `python -m bot run` tells the operator as it starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from loopback.server import LoopbackDiscord

from bot.discord_bot.run import EXIT_OK

from .helpers import environment, finish, running_bot


@pytest.mark.parametrize(
    ("semantic", "said"),
    [
        ("off", "Loaded 3 articles from {corpus}; answering by word matching (BM25) alone; semantic search is off"),
        ("on", "Loaded 3 articles from {corpus}; answering by word matching (BM25) and by meaning (all-MiniLM-L6-v2"),
    ],
)
async def test_the_start_up_line_says_which_signals_answer(
    loopback: LoopbackDiscord, tmp_path: Path, semantic: str, said: str
) -> None:
    """Handling: the "Loaded" line names the signals, so `SEMANTIC=off` shows in the bot's log, not only in `check`."""
    env = environment(loopback, tmp_path, LOG_LEVEL="INFO", SEMANTIC=semantic, INDEX_CACHE=str(tmp_path / "cache"))
    async with running_bot(loopback, env, tmp_path) as process:
        process.terminate()
        code, log = await finish(process)
    assert code == EXIT_OK
    assert said.format(corpus=env["CORPUS_DIR"]) in log, log
