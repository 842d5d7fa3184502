"""How a failure to answer is logged: one line for Discord's trouble, a traceback for ours.

The command error handler, the mention listener and the buttons all log through `report`, so
the same failure reads the same wherever it happened.
"""

from __future__ import annotations

import logging

import discord

from bot.discord_bot import replies

log = logging.getLogger(__name__)

ALREADY_ACKNOWLEDGED = 40060  # Discord delivered the interaction twice and the other delivery answered it
UNKNOWN_INTERACTION = 10062  # the interaction expired (3 s for the first response) or never existed


def report(error: Exception, what: str, channel_id: int | None) -> bool:
    """Log a failure to answer once, and say whether an apology is worth sending.

    Discord's own trouble is one line with no traceback: a 5xx that outlasted the retries, a rate
    limit that outlasted RATE_LIMIT_BUDGET (an apology would only be limited too), an interaction
    delivered twice (the other delivery answered it) or one that expired. Anything else is our bug:
    its traceback is logged.
    """
    code = getattr(error, "code", None)
    if isinstance(error, discord.DiscordServerError):
        log.warning(
            "Discord answered %s %s in channel %s even after retries; the user gets an apology if Discord lets us",
            error.status,
            error.response.reason,
            channel_id,
        )
        return True
    if replies.is_rate_limit(error):
        log.warning(
            "Discord kept rate-limiting %s in channel %s for over %g s; gave up, so that question has no answer",
            what,
            channel_id,
            replies.RATE_LIMIT_BUDGET,
        )
        return False
    if isinstance(error, discord.HTTPException) and code == ALREADY_ACKNOWLEDGED:
        log.info("Discord delivered an interaction in channel %s twice; the first delivery answered it", channel_id)
        return False
    if isinstance(error, discord.NotFound) and code == UNKNOWN_INTERACTION:
        log.warning(
            "An interaction in channel %s expired before Discord took our response (Discord slow or failing); "
            "the user saw 'interaction failed'",
            channel_id,
        )
        return False
    log.error("%s failed", what[:1].upper() + what[1:], exc_info=error)
    return True
