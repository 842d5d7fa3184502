"""Buttons in isolation: a failing callback apologises to the clicker and logs the traceback."""

from __future__ import annotations

from unittest.mock import AsyncMock, MagicMock

import discord
import pytest

from bot.discord_bot.failures import APOLOGY
from bot.discord_bot.views import ContextButton


async def test_a_failing_button_apologises_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    interaction = MagicMock(spec_set=discord.Interaction)
    interaction.client.serving.version = "0123abcd"
    interaction.client.serving.engine.context_of.side_effect = RuntimeError("index exploded")
    interaction.response = MagicMock(spec_set=discord.InteractionResponse)
    interaction.response.is_done.return_value = False
    interaction.response.send_message = AsyncMock()
    await ContextButton("0123abcd", [7]).callback(interaction)
    interaction.response.send_message.assert_awaited_once_with(APOLOGY, ephemeral=True)
    record = next(r for r in caplog.records if r.getMessage() == "Button answer:context:0123abcd:7 failed")
    assert record.exc_info is not None and "index exploded" in str(record.exc_info[1])
