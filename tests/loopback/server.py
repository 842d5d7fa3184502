r"""A small Discord-compatible server on 127.0.0.1 that the real discord.py client can run against.

It serves the REST routes the bot uses and a gateway websocket, records every REST request
(method, path, query, JSON body, status) so tests can assert on what the bot really sent, and
lets tests play the users: post messages, run slash commands and click buttons. Fault injection
is built in so reliability tests can reuse it:

    server = LoopbackDiscord()                    # or the `loopback` fixture in tests/conftest.py
    await server.start()                          # then point the client at server.api_base / gateway_url
    message = await server.post_message(server.make_user("alice"), "!ask why?")
    sent = await server.wait_for_reply(message)   # a Recorded: sent.json is what the bot posted
    server.queue_error("POST", r"/channels/\d+/messages", 503, times=2)   # per-route errors, in order
    server.queue_rate_limit("POST", r"/channels/\d+/messages", retry_after=0.1, is_global=True)
    server.queue_rate_limit("POST", r"/channels/\d+/messages", retry_after=0.3, for_seconds=4)  # a 429 spell
    server.queue_error("POST", r"/channels/\d+/messages", 502, after_handling=True)  # the response is lost
    await server.close_gateway(4000)              # or drop_gateway(), request_reconnect(),
    await server.invalidate_session(resumable=False)  # ... and resumable=True
    server.withhold_acks()                        # this connection's heartbeats go unanswered
    server.hold_gateway(); ...; server.release_gateway()  # new connections wait for HELLO meanwhile
    server.refuse_identify = 4004                 # close every IDENTIFY with this code (REST still works)
    await server.dispatch("GUILD_UPDATE", {...})  # any gateway event
    await server.message_command(user, "Ask the articles", message)  # right-click a message → Apps
    server.command_menu()                         # the command names users see in the guild, as published

Sessions behave as Discord's do: an event dispatched while the bot is disconnected waits in the
session's backlog, and a RESUME replays every event after the sequence number the bot sends, then
RESUMED. A bot that shards (IDENTIFY with `shard: [id, count]`) gets in each shard's READY only the
guilds whose id puts them on that shard, and each guild's events arrive on its shard's session
(`add_guild(name, shard=(1, 2))` makes a guild for shard 1 of 2; DMs go to shard 0). Message creation honours `enforce_nonce` (a repeated nonce returns the first message) and
the bot's channel permissions (403 Missing Permissions). As on Discord, an interaction's first
response must arrive within `interaction_deadline` seconds (3) or it is refused with 10062, and a
second response to the same interaction is refused with 40060. `replies_to(message)` lists the messages
users would see in reply to a message; `heartbeats` holds the arrival time of every heartbeat.

New routes are one line in `self._routes`; the gateway records every payload in `received`.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

from aiohttp import WSMsgType, web

API_PREFIX = "/api/v10"
DISCORD_EPOCH_MS = 1420070400000

# Permission bits (https://discord.com/developers/docs/topics/permissions).
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
READ_MESSAGE_HISTORY = 1 << 16
MENTION_EVERYONE = 1 << 17
ADD_REACTIONS = 1 << 6
USE_APPLICATION_COMMANDS = 1 << 31
CREATE_PUBLIC_THREADS = 1 << 35
SEND_MESSAGES_IN_THREADS = 1 << 38
EVERYONE_PERMISSIONS = (
    VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | READ_MESSAGE_HISTORY
    | ADD_REACTIONS
    | USE_APPLICATION_COMMANDS
    | CREATE_PUBLIC_THREADS
    | SEND_MESSAGES_IN_THREADS
)

# Gateway intents (https://discord.com/developers/docs/events/gateway#gateway-intents).
INTENT_GUILD_MESSAGES = 1 << 9
INTENT_DIRECT_MESSAGES = 1 << 12
INTENT_MESSAGE_CONTENT = 1 << 15

# Gateway opcodes.
OP_DISPATCH, OP_HEARTBEAT, OP_IDENTIFY = 0, 1, 2
OP_RESUME, OP_RECONNECT, OP_INVALID_SESSION, OP_HELLO, OP_HEARTBEAT_ACK = 6, 7, 9, 10, 11

# Interaction callback types.
CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE, DEFERRED_UPDATE, UPDATE_MESSAGE = 4, 5, 6, 7
EPHEMERAL = 1 << 6

BACKLOG = 10_000  # events a session keeps for replay on RESUME
MISSING_PERMISSIONS = {"message": "Missing Permissions", "code": 50013}


@dataclass
class Recorded:
    """One REST request as the bot sent it and the status it got; `path` is relative to the API base."""

    method: str
    path: str
    query: Mapping[str, str]
    json: Any
    headers: Mapping[str, str]
    status: int = 0  # filled in once the response is ready, before the request is listed
    at: float = field(default_factory=time.monotonic)  # when it arrived
    duplicate: bool = False  # its nonce repeated an earlier message's: that message was returned, none created

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class QueuedError:
    """An error response served instead of the real one to requests matching a route."""

    method: str
    pattern: re.Pattern[str]
    status: int
    body: Any
    headers: Mapping[str, str]
    remaining: int | None  # None: until `until`, or forever
    after_handling: bool = False  # the request takes effect first: the response is lost, not the request
    until: float | None = None  # time.monotonic() after which the error is no longer served


@dataclass
class Channel:
    id: int
    name: str
    type: int = 0  # 0 guild text, 1 DM, 11 public thread
    guild_id: int | None = None
    parent_id: int | None = None
    deny_everyone: int = 0
    recipient: dict[str, Any] | None = None

    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": str(self.id), "type": self.type, "name": self.name, "position": 0}
        if self.type == 1:
            return {"id": str(self.id), "type": 1, "recipients": [self.recipient], "last_message_id": None}
        data.update(
            guild_id=str(self.guild_id),
            parent_id=str(self.parent_id) if self.parent_id else None,
            nsfw=False,
            topic=None,
            last_message_id=None,
            rate_limit_per_user=0,
            permission_overwrites=[
                {"id": str(self.guild_id), "type": 0, "allow": "0", "deny": str(self.deny_everyone)}
            ]
            if self.deny_everyone
            else [],
        )
        if self.type == 11:
            data.update(
                owner_id=None,
                member_count=1,
                message_count=0,
                thread_metadata={
                    "archived": False,
                    "auto_archive_duration": 1440,
                    "archive_timestamp": _timestamp(),
                    "locked": False,
                },
            )
        return data


@dataclass
class Session:
    """A gateway session; it outlives its connections, so a RESUME can replay the events missed."""

    id: str
    intents: int
    identify: dict[str, Any]
    shard: tuple[int, int] = (0, 1)  # (shard id, shard count) from IDENTIFY; (0, 1) when the bot does not shard
    sequence: int = 0
    backlog: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=BACKLOG))
    connection: Connection | None = field(default=None, repr=False, compare=False)  # its live connection, if any


@dataclass(eq=False)
class Connection:
    """One gateway websocket, and the session it carries once identified or resumed."""

    ws: web.WebSocketResponse
    transport: asyncio.BaseTransport | None
    session: Session | None = None
    acks: bool = True
    send_lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class LoopbackDiscord:
    """A Discord-compatible REST API and gateway on loopback, with one guild and its channels."""

    def __init__(self, *, token: str = "loopback-token", privileged_intents: bool = True) -> None:
        self.token = token
        self.privileged_intents = privileged_intents
        self.heartbeat_interval_ms = 41_250
        self.interaction_deadline = 3.0  # seconds Discord waits for an interaction's first response
        self.ack_heartbeats = True
        self.heartbeats: list[float] = []  # time.monotonic() of every heartbeat received
        self.refuse_identify: int | None = None  # a close code to answer every IDENTIFY with
        self._ids = itertools.count(1)
        self.application_id = self.snowflake()
        self.bot_user = self._user_payload(self.application_id, "AnswerBot", bot=True)
        self.owner = self.make_user("operator")
        self.guild_id = self.snowflake()
        self.guilds: dict[int, str] = {self.guild_id: "Loopback Guild"}  # id: name
        self.recommended_shards = 1  # what GET /gateway/bot recommends (SHARD_COUNT=auto follows it)
        self.channels: dict[int, Channel] = {}
        self.general = self.add_channel("general")
        self.no_embeds = self.add_channel("no-embeds", deny_everyone=EMBED_LINKS)
        self.messages: dict[int, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        # Published application commands by scope: None for global, else a guild id. A PUT replaces one scope.
        self.commands: dict[int | None, list[dict[str, Any]]] = {}
        self.received: list[dict[str, Any]] = []  # every gateway payload the bot sent, in order
        self.identifies: list[dict[str, Any]] = []
        self.resumes: list[dict[str, Any]] = []
        self.connection: Connection | None = None  # the live, identified (or resumed) connection
        self.session: Session | None = None  # the current session, connected or not
        self.shards: dict[int, Session] = {}  # shard id: its current session, which gets that shard's guilds' events
        self._sessions: dict[str, Session] = {}
        self._connections: set[Connection] = set()
        self._gateway_open = asyncio.Event()
        self._gateway_open.set()
        self._nonces: dict[str, dict[str, Any]] = {}
        self._errors: list[QueuedError] = []
        self._interactions: dict[str, dict[str, Any]] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self.port = 0
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Awaitable[web.StreamResponse]]]] = [
            ("GET", re.compile(r"/users/@me"), self._get_me),
            ("GET", re.compile(r"/oauth2/applications/@me"), self._get_application),
            ("GET", re.compile(r"/gateway(/bot)?"), self._get_gateway),
            ("POST", re.compile(r"/channels/(?P<channel>\d+)/typing"), self._typing),
            ("POST", re.compile(r"/channels/(?P<channel>\d+)/messages"), self._create_message),
            ("PATCH", re.compile(r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)"), self._edit_message),
            ("POST", re.compile(r"/channels/(?P<channel>\d+)/messages/(?P<message>\d+)/threads"), self._start_thread),
            ("POST", re.compile(r"/interactions/(?P<interaction>\d+)/(?P<token>[^/]+)/callback"), self._callback),
            ("POST", re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)"), self._followup),
            ("PATCH", re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/@original"), self._edit_original),
            ("GET", re.compile(r"/webhooks/(?P<app>\d+)/(?P<token>[^/]+)/messages/@original"), self._get_original),
            ("PUT", re.compile(r"/applications/(?P<app>\d+)(/guilds/(?P<guild>\d+))?/commands"), self._put_commands),
            ("GET", re.compile(r"/applications/(?P<app>\d+)(/guilds/(?P<guild>\d+))?/commands"), self._get_commands),
        ]

    # --- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_route("*", API_PREFIX + "/{tail:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._gateway_open.set()
        for connection in list(self._connections):
            if not connection.ws.closed:
                await connection.ws.close(code=1001)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}{API_PREFIX}"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    # --- the world ----------------------------------------------------------------------------

    def snowflake(self) -> int:
        """A fresh id shaped like Discord's: milliseconds since 2015 above a counter."""
        return ((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | (next(self._ids) & 0x3FFFFF)

    def make_user(self, name: str) -> dict[str, Any]:
        return self._user_payload(self.snowflake(), name)

    def add_channel(self, name: str, *, deny_everyone: int = 0, guild_id: int | None = None) -> Channel:
        channel = Channel(self.snowflake(), name, guild_id=guild_id or self.guild_id, deny_everyone=deny_everyone)
        self.channels[channel.id] = channel
        return channel

    def add_guild(self, name: str, *, shard: tuple[int, int] = (0, 1)) -> int:
        """Another guild with the bot in it, whose id puts it on `shard` (shard id, shard count), as Discord routes."""
        shard_id, count = shard
        guild_id = self.snowflake()
        while (guild_id >> 22) % count != shard_id:
            guild_id += 1 << 22  # a millisecond later: same counter bits, so still unique
        self.guilds[guild_id] = name
        return guild_id

    def dm_channel(self, user: Mapping[str, Any]) -> Channel:
        """The DM channel between `user` and the bot (created on first use, as Discord does)."""
        for channel in self.channels.values():
            if channel.type == 1 and channel.recipient and channel.recipient["id"] == user["id"]:
                return channel
        channel = Channel(self.snowflake(), "", type=1, recipient=dict(user))
        self.channels[channel.id] = channel
        return channel

    def bot_permissions(self, channel: Channel) -> int:
        if channel.type == 1:
            return EVERYONE_PERMISSIONS | EMBED_LINKS
        parent = self.channels.get(channel.parent_id or 0, channel)
        return EVERYONE_PERMISSIONS & ~channel.deny_everyone & ~parent.deny_everyone

    @staticmethod
    def _user_payload(user_id: int, name: str, *, bot: bool = False) -> dict[str, Any]:
        return {
            "id": str(user_id),
            "username": name,
            "global_name": name,
            "discriminator": "0",
            "avatar": None,
            "bot": bot,
            "flags": 0,
            "public_flags": 0,
        }

    def _member_payload(self, user: Mapping[str, Any], *, with_user: bool = True) -> dict[str, Any]:
        member: dict[str, Any] = {
            "roles": [],
            "joined_at": _timestamp(),
            "deaf": False,
            "mute": False,
            "flags": 0,
            "nick": None,
            "avatar": None,
        }
        if with_user:
            member["user"] = dict(user)
        return member

    def _guild_payload(self, guild_id: int) -> dict[str, Any]:
        members = [self._member_payload(self.bot_user)]
        return {
            "id": str(guild_id),
            "name": self.guilds[guild_id],
            "icon": None,
            "owner_id": self.owner["id"],
            "unavailable": False,
            "large": False,
            "member_count": len(members),
            "members": members,
            "roles": [
                {
                    "id": str(guild_id),
                    "name": "@everyone",
                    "permissions": str(EVERYONE_PERMISSIONS),
                    "position": 0,
                    "color": 0,
                    "hoist": False,
                    "managed": False,
                    "mentionable": False,
                    "flags": 0,
                }
            ],
            "channels": [c.payload() for c in self.channels.values() if c.guild_id == guild_id and c.type != 11],
            "threads": [],
            "emojis": [],
            "stickers": [],
            "features": [],
            "voice_states": [],
            "presences": [],
            "joined_at": _timestamp(),
            "premium_tier": 0,
            "afk_timeout": 300,
            "verification_level": 0,
            "mfa_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "system_channel_id": None,
            "preferred_locale": "en-US",
            "nsfw_level": 0,
        }

    # --- waiting on what the bot does ---------------------------------------------------------

    def mark(self) -> int:
        """The number of requests recorded so far; pass it as `since` to look only at later ones."""
        return len(self.requests)

    async def wait_for_request(
        self,
        method: str,
        path: str,
        *,
        where: Callable[[Recorded], bool] = lambda _: True,
        since: int = 0,
        timeout: float = 10.0,
    ) -> Recorded:
        """The first request since `since` whose method matches and whose path fully matches the regex."""
        pattern = re.compile(path)

        def find() -> Recorded | None:
            for request in self.requests[since:]:
                if request.method == method and pattern.fullmatch(request.path) and where(request):
                    return request
            return None

        async with self._changed:
            return await asyncio.wait_for(self._changed.wait_for(find), timeout)  # type: ignore[return-value]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate()` holds; it is re-checked whenever the server's state changes."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # --- fault injection ----------------------------------------------------------------------

    def queue_error(
        self,
        method: str,
        path: str,
        status: int,
        body: Any = None,
        *,
        headers: Mapping[str, str] | None = None,
        times: int | None = 1,
        after_handling: bool = False,
        for_seconds: float | None = None,
    ) -> None:
        """Answer the next `times` requests matching (method, path regex) with this error; None = forever.

        With `after_handling` the request is carried out first (a message is created) and only its
        response is the error, as when Discord acts but the answer is lost on the way back. With
        `for_seconds`, every matching request gets the error until that many seconds have passed.
        """
        if body is None:
            body = {"message": f"{status}: error injected by the loopback server", "code": 0}
        until = None if for_seconds is None else time.monotonic() + for_seconds
        self._errors.append(
            QueuedError(
                method, re.compile(path), status, body, dict(headers or {}),
                None if for_seconds is not None else times, after_handling, until,
            )
        )

    def queue_rate_limit(
        self, method: str, path: str, retry_after: float, *, is_global: bool = False, for_seconds: float | None = None
    ) -> None:
        """A 429 as Discord sends it, with the Via header discord.py uses to tell it from a Cloudflare ban.

        With `for_seconds`, a spell: every matching request is limited until that many seconds have passed.
        """
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        headers = {"Via": "1.1 google", "Retry-After": str(retry_after)}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        else:
            headers.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": str(retry_after)})
        self.queue_error(method, path, 429, body, headers=headers, for_seconds=for_seconds)

    async def close_gateway(self, code: int) -> None:
        """Close the current gateway connection with a close code, as Discord does."""
        if self.connection is not None:
            await self.connection.ws.close(code=code)

    async def drop_gateway(self) -> None:
        """Drop the current gateway TCP connection without a close frame (async like the other faults)."""
        if self.connection is not None and self.connection.transport is not None:
            self.connection.transport.abort()

    async def invalidate_session(self, *, resumable: bool) -> None:
        """Send op 9 INVALID_SESSION: the client resumes if `resumable`; if not, the session is gone and it identifies."""
        connection = self.connection
        if not resumable and self.session is not None:
            self._sessions.pop(self.session.id, None)
            if self.shards.get(self.session.shard[0]) is self.session:
                del self.shards[self.session.shard[0]]
            self.session = None
        await self._send(connection, {"op": OP_INVALID_SESSION, "d": resumable})

    async def request_reconnect(self) -> None:
        """Send op 7 RECONNECT, as Discord does before it moves a session to another server."""
        await self._send(self.connection, {"op": OP_RECONNECT, "d": None})

    def withhold_acks(self) -> None:
        """Stop acknowledging the current connection's heartbeats (a zombie connection); later ones are acked."""
        if self.connection is not None:
            self.connection.acks = False

    def hold_gateway(self) -> None:
        """New gateway connections wait before HELLO until `release_gateway()`: the bot stays disconnected."""
        self._gateway_open.clear()

    def release_gateway(self) -> None:
        self._gateway_open.set()

    # --- playing the users --------------------------------------------------------------------

    async def dispatch(self, event: str, data: Mapping[str, Any], *, session: Session | None = None) -> None:
        """Send a DISPATCH event in the session of its guild's shard; while it is disconnected the event waits for a RESUME."""
        session = session or self.session_for(data.get("guild_id"))
        session.sequence += 1
        payload = {"op": OP_DISPATCH, "t": event, "s": session.sequence, "d": dict(data)}
        session.backlog.append(payload)
        if session.connection is not None:
            with contextlib.suppress(ConnectionError, RuntimeError):  # closing: a RESUME replays it
                await self._send(session.connection, payload)

    def session_for(self, guild_id: int | str | None) -> Session:
        """The session Discord delivers a guild's events to: shard (guild_id >> 22) % shard count; DMs go to shard 0."""
        if not self.shards:
            raise RuntimeError("no bot has a session with the gateway")
        count = next(iter(self.shards.values())).shard[1]
        shard = 0 if guild_id is None else (int(guild_id) >> 22) % count
        if shard not in self.shards:
            raise RuntimeError(f"no bot runs shard {shard} of {count}")
        return self.shards[shard]

    async def post_message(
        self,
        author: Mapping[str, Any],
        content: str,
        *,
        channel: Channel | None = None,
        mention_bot: bool = False,
        reply_to: Mapping[str, Any] | None = None,
        ping_reply: bool = True,
    ) -> dict[str, Any]:
        """A user posts a message; the bot receives MESSAGE_CREATE as Discord would deliver it.

        With `mention_bot` the content starts with the bot's mention. A reply to one of the
        bot's messages mentions the bot unless `ping_reply` is off. Without the message-content
        intent, content is blanked unless the message mentions the bot or is a DM.
        """
        channel = channel or self.general
        if mention_bot:
            content = f"<@{self.bot_user['id']}> {content}"
        mentions: list[dict[str, Any]] = []
        if mention_bot or (reply_to is not None and ping_reply and reply_to["author"]["id"] == self.bot_user["id"]):
            mentions.append(dict(self.bot_user))
        message = self._message_payload(channel, author, content, mentions=mentions, reply_to=reply_to)
        self.messages[int(message["id"])] = message
        session = self.session_for(channel.guild_id)
        needed = INTENT_DIRECT_MESSAGES if channel.type == 1 else INTENT_GUILD_MESSAGES
        if session.intents & needed:
            delivered = dict(message)
            if not session.intents & INTENT_MESSAGE_CONTENT and channel.type != 1 and not mentions:
                delivered.update(content="", embeds=[], attachments=[], components=[])
            await self.dispatch("MESSAGE_CREATE", delivered)
        return message

    async def slash(
        self,
        user: Mapping[str, Any],
        name: str,
        options: Mapping[str, Any] | None = None,
        *,
        channel: Channel | None = None,
    ) -> dict[str, Any]:
        """A user runs a slash command; returns the INTERACTION_CREATE payload sent to the bot."""
        option_types = {str: 3, bool: 5, int: 4, float: 10}
        data = {
            "id": self._command_id(name, 1),
            "name": name,
            "type": 1,
            "options": [
                {"name": key, "type": option_types[type(value)], "value": value}
                for key, value in (options or {}).items()
            ],
        }
        return await self._interact(user, 2, data, channel or self.general)

    async def message_command(
        self, user: Mapping[str, Any], name: str, message: Mapping[str, Any]
    ) -> dict[str, Any]:
        """A user right-clicks `message` and picks the message command `name` (Apps → name)."""
        data = {
            "id": self._command_id(name, 3),
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: _public(message)}},
        }
        return await self._interact(user, 2, data, self.channels[int(message["channel_id"])])

    def _command_id(self, name: str, kind: int) -> str:
        """The id Discord gave the published command (global first), or a fresh one if it was never published."""
        for scope in (None, self.guild_id):
            for command in self.commands.get(scope, []):
                if (command["name"], command["type"]) == (name, kind):
                    return str(command["id"])
        return str(self.snowflake())

    async def click(self, user: Mapping[str, Any], message: Mapping[str, Any], custom_id: str) -> dict[str, Any]:
        """A user clicks the button `custom_id` under `message` (a message the bot sent)."""
        buttons = [c for row in message.get("components", []) for c in row.get("components", [])]
        if custom_id not in {b.get("custom_id") for b in buttons}:
            raise ValueError(f"no button {custom_id!r} under message {message['id']}")
        channel = self.channels[int(message["channel_id"])]
        data = {"custom_id": custom_id, "component_type": 2}
        return await self._interact(user, 3, data, channel, message=message)

    async def _interact(
        self,
        user: Mapping[str, Any],
        kind: int,
        data: Mapping[str, Any],
        channel: Channel,
        *,
        message: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        interaction_id = self.snowflake()
        payload: dict[str, Any] = {
            "id": str(interaction_id),
            "application_id": str(self.application_id),
            "type": kind,
            "token": f"itoken{interaction_id}",
            "version": 1,
            "data": dict(data),
            "channel_id": str(channel.id),
            "channel": channel.payload(),
            "app_permissions": str(self.bot_permissions(channel)),
            "locale": "en-US",
            "attachment_size_limit": 26_214_400,
            "entitlements": [],
        }
        if channel.type == 1:
            payload.update(user=dict(user), context=1, authorizing_integration_owners={"0": "0"})
        else:
            member = self._member_payload(user)
            member["permissions"] = str(EVERYONE_PERMISSIONS)
            payload.update(
                guild_id=str(channel.guild_id),
                guild_locale="en-US",
                member=member,
                context=0,
                authorizing_integration_owners={"0": str(channel.guild_id)},
            )
        if message is not None:
            payload["message"] = _public(message)
        self._interactions[payload["token"]] = {"payload": payload, "original": None, "at": time.monotonic()}
        await self.dispatch("INTERACTION_CREATE", payload)
        return payload

    # --- what the bot sent, by meaning --------------------------------------------------------

    def sent_messages(self, *, since: int = 0) -> list[Recorded]:
        """Messages the bot created (accepted requests only), by channel message or interaction response."""
        return [r for r in self.requests[since:] if _creates_message(r)]

    async def wait_for_reply(self, message: Mapping[str, Any], *, timeout: float = 10.0) -> Recorded:
        """The bot's channel message that replies to `message` (by message reference) and was accepted."""

        def replies(request: Recorded) -> bool:
            reference = (request.json or {}).get("message_reference") or {}
            return request.ok and str(reference.get("message_id")) == message["id"]

        return await self.wait_for_request("POST", r"/channels/\d+/messages", where=replies, timeout=timeout)

    async def wait_for_response(self, interaction: Mapping[str, Any], *, timeout: float = 10.0) -> Recorded:
        """The first message the bot sends for an interaction: a callback with a message, or a follow-up."""
        token = interaction["token"]

        def answers(request: Recorded) -> bool:
            return f"/{token}" in request.path and _creates_message(request)

        async with self._changed:
            found = await asyncio.wait_for(
                self._changed.wait_for(lambda: [r for r in self.requests if answers(r)]), timeout
            )
        return found[0]

    def replies_to(self, message: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Every message the bot created in reply to `message` (by message reference): what users see."""
        return [
            stored
            for stored in self.messages.values()
            if stored["author"]["id"] == self.bot_user["id"]
            and (stored.get("message_reference") or {}).get("message_id") == message["id"]
        ]

    def reply_requests(self, message: Mapping[str, Any]) -> list[Recorded]:
        """Every request the bot made to post a reply to `message`, whatever came of it."""
        return [
            request
            for request in self.requests
            if request.method == "POST"
            and re.fullmatch(r"/channels/\d+/messages", request.path)
            and str(((request.json or {}).get("message_reference") or {}).get("message_id")) == message["id"]
        ]

    def message_for(self, request: Recorded) -> dict[str, Any]:
        """The stored message a message-creating request produced (with its components)."""
        for message in reversed(self.messages.values()):
            if message.get("_request") is request:
                return message
        raise KeyError("that request created no message")

    # --- REST ---------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.StreamResponse:
        path = "/" + request.match_info["tail"]
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            if request.content_type == "application/json" and raw:
                body = json.loads(raw)
            elif request.content_type.startswith("multipart/"):
                body = {"_multipart": True}
        recorded = Recorded(request.method, path, dict(request.query), body, dict(request.headers))
        response = await self._respond(request, recorded)
        recorded.status = response.status
        self.requests.append(recorded)
        await self._notify()
        return response

    async def _respond(self, request: web.Request, recorded: Recorded) -> web.StreamResponse:
        now = time.monotonic()
        self._errors = [error for error in self._errors if error.until is None or error.until > now]
        for error in self._errors:
            if error.method == recorded.method and error.pattern.fullmatch(recorded.path):
                if error.remaining is not None:
                    error.remaining -= 1
                    if error.remaining == 0:
                        self._errors.remove(error)
                if error.after_handling:
                    await self._route(request, recorded)
                return _json(error.body, status=error.status, headers=error.headers)
        return await self._route(request, recorded)

    async def _route(self, request: web.Request, recorded: Recorded) -> web.StreamResponse:
        needs_auth = not recorded.path.startswith(("/interactions/", "/webhooks/"))
        if needs_auth and request.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(recorded.path)
            if method == recorded.method and match:
                return await handler(recorded, **{k: v for k, v in match.groupdict().items() if v is not None})
        return _json({"message": "404: Not Found (the loopback server has no such route)", "code": 0}, status=404)

    async def _get_me(self, recorded: Recorded) -> web.StreamResponse:
        return _json(self.bot_user)

    async def _get_application(self, recorded: Recorded) -> web.StreamResponse:
        return _json(
            {
                "id": str(self.application_id),
                "name": self.bot_user["username"],
                "icon": None,
                "description": "",
                "bot_public": True,
                "bot_require_code_grant": False,
                "owner": self.owner,
                "team": None,
                "verify_key": "0" * 64,
                "flags": 0,
                "summary": "",
                "interactions_endpoint_url": None,
            }
        )

    async def _get_gateway(self, recorded: Recorded) -> web.StreamResponse:
        limit = {"total": 1000, "remaining": 1000, "reset_after": 0, "max_concurrency": 1}
        return _json({"url": self.gateway_url, "shards": self.recommended_shards, "session_start_limit": limit})

    def _may_send(self, channel: Channel) -> bool:
        needed = SEND_MESSAGES_IN_THREADS if channel.type == 11 else SEND_MESSAGES
        return bool(self.bot_permissions(channel) & needed)

    async def _typing(self, recorded: Recorded, channel: str) -> web.StreamResponse:
        target = self.channels.get(int(channel))
        if target is not None and not self._may_send(target):
            return _json(MISSING_PERMISSIONS, status=403)
        return web.Response(status=204)

    async def _create_message(self, recorded: Recorded, channel: str) -> web.StreamResponse:
        target = self.channels.get(int(channel))
        if target is None:
            return _json({"message": "Unknown Channel", "code": 10003}, status=404)
        if not self._may_send(target):
            return _json(MISSING_PERMISSIONS, status=403)
        body = recorded.json or {}
        nonce = str(body["nonce"]) if body.get("enforce_nonce") and body.get("nonce") is not None else None
        if nonce is not None and nonce in self._nonces:
            recorded.duplicate = True
            return _json(self._nonces[nonce])
        message = self._bot_message(target, recorded)
        if nonce is not None:
            self._nonces[nonce] = message
        return _json(message)

    async def _edit_message(self, recorded: Recorded, channel: str, message: str) -> web.StreamResponse:
        stored = self.messages.get(int(message))
        if stored is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        stored.update({k: v for k, v in (recorded.json or {}).items() if k in {"content", "embeds", "components"}})
        stored["edited_timestamp"] = _timestamp()
        return _json(_public(stored))

    async def _start_thread(self, recorded: Recorded, channel: str, message: str) -> web.StreamResponse:
        parent = self.channels[int(channel)]
        name = (recorded.json or {}).get("name", "thread")
        thread = Channel(int(message), name, type=11, guild_id=parent.guild_id, parent_id=parent.id)
        self.channels[thread.id] = thread
        data = thread.payload()
        data["owner_id"] = self.bot_user["id"]
        return _json(data)

    async def _callback(self, recorded: Recorded, interaction: str, token: str) -> web.StreamResponse:
        state = self._interactions.get(token)
        late = state is not None and time.monotonic() - state["at"] > self.interaction_deadline
        if state is None or state["payload"]["id"] != interaction or (late and not state.get("answered")):
            return _json({"message": "Unknown interaction", "code": 10062}, status=404)
        if state.get("answered"):
            return _json({"message": "Interaction has already been acknowledged.", "code": 40060}, status=400)
        state["answered"] = True
        kind = (recorded.json or {}).get("type")
        data = (recorded.json or {}).get("data") or {}
        payload = state["payload"]
        channel = self.channels[int(payload["channel_id"])]
        result: dict[str, Any] = {
            "interaction": {
                "id": interaction,
                "type": payload["type"],
                "response_message_loading": kind == DEFERRED_CHANNEL_MESSAGE,
                "response_message_ephemeral": bool(data.get("flags", 0) & EPHEMERAL),
            },
            "resource": {"type": kind},
        }
        if kind in (CHANNEL_MESSAGE, DEFERRED_CHANNEL_MESSAGE):
            message = self._bot_message(channel, recorded, body=data, interaction=payload)
            state["original"] = message
            result["interaction"]["response_message_id"] = message["id"]
            result["resource"]["message"] = _public(message)
        elif kind == UPDATE_MESSAGE and "message" in payload:
            stored = self.messages.get(int(payload["message"]["id"]))
            if stored is not None:
                stored.update({k: v for k, v in data.items() if k in {"content", "embeds", "components"}})
                result["resource"]["message"] = _public(stored)
        return _json(result)

    async def _followup(self, recorded: Recorded, app: str, token: str) -> web.StreamResponse:
        state = self._interactions.get(token)
        if state is None:
            return _json({"message": "Unknown Webhook", "code": 10015}, status=404)
        channel = self.channels[int(state["payload"]["channel_id"])]
        message = self._bot_message(channel, recorded, interaction=state["payload"])
        message["webhook_id"] = app
        return _json(_public(message))

    async def _edit_original(self, recorded: Recorded, app: str, token: str) -> web.StreamResponse:
        state = self._interactions.get(token)
        if state is None or state["original"] is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        original = state["original"]
        original.update({k: v for k, v in (recorded.json or {}).items() if k in {"content", "embeds", "components"}})
        original["_request"] = recorded
        return _json(_public(original))

    async def _get_original(self, recorded: Recorded, app: str, token: str) -> web.StreamResponse:
        state = self._interactions.get(token)
        if state is None or state["original"] is None:
            return _json({"message": "Unknown Message", "code": 10008}, status=404)
        return _json(_public(state["original"]))

    async def _put_commands(self, recorded: Recorded, app: str, guild: str | None = None) -> web.StreamResponse:
        """Bulk overwrite, as Discord does: the scope's commands become exactly the list sent (ids kept by name)."""
        scope = int(guild) if guild is not None else None
        ids = {(c["name"], c["type"]): c["id"] for c in self.commands.get(scope, [])}
        registered = []
        for command in recorded.json or []:
            kind = command.get("type", 1)
            entry = {"description": "", **command}
            entry.update(
                id=ids.get((command["name"], kind), str(self.snowflake())),
                application_id=app,
                version=str(self.snowflake()),
                type=kind,
            )
            if guild is not None:
                entry["guild_id"] = guild
            registered.append(entry)
        self.commands[scope] = registered
        return _json(registered)

    async def _get_commands(self, recorded: Recorded, app: str, guild: str | None = None) -> web.StreamResponse:
        return _json(self.commands.get(int(guild) if guild is not None else None, []))

    def command_menu(self, guild_id: int | None = None) -> list[str]:
        """The command names a user sees in a guild's command picker (global ones and the guild's own), sorted.

        A name listed twice is what users see when a command is published both globally and to the guild.
        """
        guild_id = self.guild_id if guild_id is None else guild_id
        return sorted(c["name"] for c in [*self.commands.get(None, []), *self.commands.get(guild_id, [])])

    def _bot_message(
        self,
        channel: Channel,
        recorded: Recorded,
        *,
        body: Mapping[str, Any] | None = None,
        interaction: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        body = recorded.json if body is None else body
        body = body or {}
        reference = body.get("message_reference")
        replied = self.messages.get(int(reference["message_id"])) if reference else None
        message = self._message_payload(
            channel,
            self.bot_user,
            body.get("content") or "",
            embeds=body.get("embeds") or [],
            components=body.get("components") or [],
            reply_to=replied,
            flags=body.get("flags", 0),
        )
        if interaction is not None:
            message["interaction_metadata"] = {
                "id": interaction["id"],
                "type": interaction["type"],
                "user": interaction.get("user") or interaction["member"]["user"],
                "authorizing_integration_owners": interaction["authorizing_integration_owners"],
            }
            message["application_id"] = str(self.application_id)
        message["_request"] = recorded
        self.messages[int(message["id"])] = message
        return message

    def _message_payload(
        self,
        channel: Channel,
        author: Mapping[str, Any],
        content: str,
        *,
        mentions: list[dict[str, Any]] | None = None,
        embeds: list[Any] | None = None,
        components: list[Any] | None = None,
        reply_to: Mapping[str, Any] | None = None,
        flags: int = 0,
    ) -> dict[str, Any]:
        message: dict[str, Any] = {
            "id": str(self.snowflake()),
            "channel_id": str(channel.id),
            "author": dict(author),
            "content": content,
            "timestamp": _timestamp(),
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": mentions or [],
            "mention_roles": [],
            "attachments": [],
            "embeds": embeds or [],
            "components": components or [],
            "pinned": False,
            "type": 19 if reply_to is not None else 0,
            "flags": flags,
        }
        if channel.guild_id is not None:
            message["guild_id"] = str(channel.guild_id)
            if not author.get("bot"):
                message["member"] = self._member_payload(author, with_user=False)
        if reply_to is not None:
            message["message_reference"] = {
                "type": 0,
                "message_id": reply_to["id"],
                "channel_id": reply_to["channel_id"],
                **({"guild_id": str(channel.guild_id)} if channel.guild_id else {}),
            }
            message["referenced_message"] = _public(reply_to)
        return message

    # --- gateway ------------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=0)
        await ws.prepare(request)
        connection = Connection(ws, request.transport)
        self._connections.add(connection)
        try:
            await self._gateway_open.wait()
            await self._send(connection, {"op": OP_HELLO, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
            async for frame in ws:
                if frame.type != WSMsgType.TEXT:
                    continue
                message = json.loads(frame.data)
                self.received.append(message)
                op, data = message.get("op"), message.get("d")
                if op == OP_HEARTBEAT:
                    self.heartbeats.append(time.monotonic())
                    if self.ack_heartbeats and connection.acks:
                        await self._send(connection, {"op": OP_HEARTBEAT_ACK})
                    await self._notify()
                elif op == OP_IDENTIFY:
                    await self._identify(connection, data)
                elif op == OP_RESUME:
                    await self._resume(connection, data)
        except (ConnectionError, RuntimeError):
            pass  # the bot went away mid-send
        finally:
            self._connections.discard(connection)
            if self.connection is connection:
                self.connection = None
            if connection.session is not None and connection.session.connection is connection:
                connection.session.connection = None
            await self._notify()
        return ws

    async def _identify(self, connection: Connection, data: dict[str, Any]) -> None:
        self.identifies.append(data)
        if self.refuse_identify is not None:
            await connection.ws.close(code=self.refuse_identify, message=b"Refused by the loopback server.")
            return
        if data.get("token") != self.token:
            await connection.ws.close(code=4004, message=b"Authentication failed.")
            return
        if data.get("intents", 0) & INTENT_MESSAGE_CONTENT and not self.privileged_intents:
            await connection.ws.close(code=4014, message=b"Disallowed intent(s).")
            return
        shard_id, count = data.get("shard") or (0, 1)
        session = Session(f"session{self.snowflake()}", data.get("intents", 0), data, (shard_id, count))
        self._sessions[session.id] = session
        connection.session = session
        session.connection = connection
        self.session = self.shards[shard_id] = session
        self.connection = connection
        guilds = [guild for guild in self.guilds if (guild >> 22) % count == shard_id]
        ready: dict[str, Any] = {
            "v": 10,
            "user": self.bot_user,
            "guilds": [{"id": str(guild), "unavailable": True} for guild in guilds],
            "session_id": session.id,
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(self.application_id), "flags": 0},
            "private_channels": [],
            "relationships": [],
        }
        if "shard" in data:
            ready["shard"] = data["shard"]
        await self.dispatch("READY", ready, session=session)
        for guild in guilds:
            await self.dispatch("GUILD_CREATE", self._guild_payload(guild), session=session)
        await self._notify()

    async def _resume(self, connection: Connection, data: dict[str, Any]) -> None:
        """Replay every event after the bot's sequence number, in order, then RESUMED (as Discord does)."""
        self.resumes.append(data)
        session = self._sessions.get(data.get("session_id", ""))
        if session is None or data.get("token") != self.token:
            await self._send(connection, {"op": OP_INVALID_SESSION, "d": False})
            return
        connection.session = session
        replayed = data.get("seq") or 0
        while missed := [event for event in session.backlog if event["s"] > replayed]:
            for event in missed:  # events dispatched meanwhile are picked up by the next round
                await self._send(connection, event)
                replayed = event["s"]
        self.session = self.shards[session.shard[0]] = session
        self.connection = connection
        session.connection = connection
        await self.dispatch("RESUMED", {}, session=session)
        await self._notify()

    async def _send(self, connection: Connection | None, payload: Mapping[str, Any]) -> None:
        if connection is None or connection.ws.closed:
            raise RuntimeError("the gateway connection is closed")
        async with connection.send_lock:
            await connection.ws.send_str(json.dumps(payload))


def body_of(request: Recorded) -> dict[str, Any]:
    """The message a message-creating request describes (interaction callbacks wrap it in `data`)."""
    if request.path.endswith("/callback"):
        return dict((request.json or {}).get("data") or {})
    return dict(request.json or {})


def custom_ids(message: Mapping[str, Any]) -> list[str]:
    """The custom ids of every button under a message (or a request body), in order."""
    return [c["custom_id"] for row in message.get("components") or [] for c in row.get("components", []) if "custom_id" in c]


def _creates_message(request: Recorded) -> bool:
    """Whether the request made the server create (or fill in) a message."""
    if not request.ok or request.duplicate:
        return False
    if request.method == "POST" and re.fullmatch(r"/channels/\d+/messages", request.path):
        return True
    if request.method == "POST" and re.fullmatch(r"/webhooks/\d+/[^/]+", request.path):
        return True
    if request.method == "PATCH" and request.path.endswith("/messages/@original"):
        return True
    return (
        request.method == "POST"
        and request.path.endswith("/callback")
        and (request.json or {}).get("type") == CHANNEL_MESSAGE
    )


def _public(message: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def _json(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    """A JSON response with exactly `Content-Type: application/json`, which discord.py requires."""
    return web.Response(
        body=json.dumps(_public(data) if isinstance(data, dict) else data).encode(),
        status=status,
        headers={"Content-Type": "application/json", **(headers or {})},
    )


def _timestamp() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00", time.gmtime())
