"""The resident answerer: `python -m bot serve` keeps an engine loaded, and `ask` puts its questions to it.

A cold `ask` spends half a second on one core loading the two models before it answers
(bench/startup.py); a process that holds them answers in milliseconds. The server listens on a
Unix socket beside the corpus's saved index, made the user's own (mode 0600), and answers a client
only when both run the same bot code with the same settings, so `ask` prints what it would have
printed loading the engine itself. Whenever it cannot (no server, other settings, the articles
changed and are being read again, a server that stopped answering), `ask` says why where that is
news and loads the engine itself, as it always did.

The wire: one JSON object a line each way. The client's first line is a greeting with the protocol
and its identity, then one line per question; each gets one reply, `{"ok": true, ...}` or
`{"ok": false, "why": ...}`. This module knows the transport only; what a question's reply holds is
the caller's (bot.cli renders it exactly as the local path does).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import signal
import socket
import socketserver
import threading
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path

from bot.config import Settings, cache_dir

PROTOCOL = 1
SOCKET_NAME = "ask.sock"
MAX_LINE = 64 * 1024  # a question and its options; a longer request is refused, never read on without end
MAX_CLIENTS = 8  # connections at once (an interactive `ask` holds one while its user types); more are told to wait
CONNECT_TIMEOUT = 1.0
# A reply is a few milliseconds of work; a server that gives none in this long is treated as gone,
# so a stopped (SIGSTOP) or wedged server costs `ask` this wait once and never stalls it.
REPLY_TIMEOUT = 30.0
_PACKAGE = Path(__file__).resolve().parent

Handler = Callable[[dict], dict]
"""Turns a question request into its reply (`{"ok": True, ...}`), or says why it cannot (`{"ok": False, "why": ...}`)."""


class Unavailable(Exception):
    """The resident answerer cannot answer this client; the message says why, for a note to the user."""


def socket_path(settings: Settings) -> Path | None:
    """Where a server for these articles listens: beside their saved index (none without INDEX_CACHE)."""
    folder = cache_dir(settings)
    return None if folder is None else folder / SOCKET_NAME


def identity(settings: Settings) -> str:
    """A digest of what decides an answer besides the question: the answering settings and the bot's code.

    The code enters by each module's size and modification time (a stat, not a read: the client
    computes this on every `ask`), so a server started before an upgrade never answers for the new code.
    """
    answering = {
        "corpus": str(settings.corpus_dir.expanduser().resolve()),
        "ignore": list(settings.corpus_ignore),
        "cache": str(settings.index_cache),
        "semantic": settings.semantic,
        "model": str(settings.semantic_model and settings.semantic_model.expanduser().resolve()),
        "rerank": settings.rerank,
        "code": sorted((str(p.relative_to(_PACKAGE)), *_stat(p)) for p in _PACKAGE.rglob("*.py")),
    }
    return hashlib.sha256(json.dumps(answering, sort_keys=True).encode()).hexdigest()


def _stat(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


class Client:
    """A connection to the server for these settings; `connect` gives None when none is listening."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._reader = sock.makefile("rb")

    @classmethod
    def connect(cls, settings: Settings) -> Client | None:
        """A greeted connection, None when no server listens here, Unavailable when one does but cannot answer us."""
        path = socket_path(settings)
        if path is None or not hasattr(socket, "AF_UNIX"):
            return None
        try:
            owner = path.stat().st_uid
        except OSError:  # no server here (or its socket went just now)
            return None
        if owner != os.getuid():  # in a shared INDEX_CACHE, someone else's socket could serve made-up answers
            raise Unavailable(f"{path} belongs to another user, so `ask` does not trust its answers")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT)
        try:
            sock.connect(str(path))
        except OSError:  # a socket file a stopped server left, or one too long a path to reach: nobody to ask
            sock.close()
            return None
        sock.settimeout(REPLY_TIMEOUT)
        client = cls(sock)
        try:
            client._exchange({"protocol": PROTOCOL, "identity": identity(settings)})
        except Unavailable:
            client.close()
            raise
        return client

    def ask(self, request: dict) -> dict:
        """The server's reply to one question; Unavailable (and the connection closed) when it gives none."""
        try:
            return self._exchange(request)
        except Unavailable:
            self.close()
            raise

    def _exchange(self, message: dict) -> dict:
        with contextlib.suppress(OSError):  # a server that refused us at once has closed: its reason, if any, is still to read
            self._sock.sendall(json.dumps(message, ensure_ascii=False).encode() + b"\n")
        try:
            line = self._reader.readline(MAX_LINE * 64)
        except TimeoutError:
            raise Unavailable(f"the resident answerer gave no reply in {REPLY_TIMEOUT:.0f} s") from None
        except OSError as error:
            raise Unavailable(f"the resident answerer's connection failed ({error.strerror or error})") from None
        if not line.endswith(b"\n"):
            raise Unavailable("the resident answerer closed the connection")
        try:
            reply = json.loads(line)
        except ValueError:
            raise Unavailable("the resident answerer's reply was not JSON") from None
        if not isinstance(reply, dict) or reply.get("ok") is not True:
            why = reply.get("why") if isinstance(reply, dict) else None
            raise Unavailable(str(why or "the resident answerer refused"))
        return reply

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._reader.close()
            self._sock.close()


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    """Answers `ask` clients with `handle`, one thread a connection, at most MAX_CLIENTS at once."""

    daemon_threads = True  # an interactive client left open must not keep a stopping server alive

    def __init__(self, path: Path, identity: str, handle: Handler) -> None:
        self.identity, self.handle = identity, handle
        self._slots = threading.BoundedSemaphore(MAX_CLIENTS)
        self._lock = _claim(path)
        old = os.umask(0o177)  # the socket is created 0600: only its owner may connect (Linux checks write permission)
        try:
            super().__init__(str(path), _Connection)
        except BaseException:
            os.close(self._lock)
            raise
        finally:
            os.umask(old)
        self.path, self._inode = path, path.stat().st_ino

    def process_request(self, request: socket.socket, client_address: object) -> None:
        if not self._slots.acquire(blocking=False):
            _send(request, {"ok": False, "why": f"the resident answerer is serving {MAX_CLIENTS} clients already"})
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: socket.socket, client_address: object) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def server_close(self) -> None:
        """Stop listening and remove the socket file, unless another server has since taken its place."""
        super().server_close()
        with contextlib.suppress(OSError):
            if self.path.stat().st_ino == self._inode:
                self.path.unlink()
        if self._lock >= 0:
            os.close(self._lock)  # the next `serve` may take the place
            self._lock = -1


class AlreadyServing(Exception):
    """Another server already answers at this socket."""


def _claim(path: Path) -> int:
    """The lock that makes this the one server for the socket (held while it serves), its stale socket file gone.

    An exclusive `flock` on a file beside the socket, not a probe of the socket: two `serve`s started at
    once cannot both take it, so neither removes the other's socket.
    """
    import fcntl  # POSIX, as Unix sockets are; imported here so `ask` never needs it

    path.parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock)
        raise AlreadyServing(f"another `serve` already answers for these articles at {path}") from None
    with contextlib.suppress(FileNotFoundError):  # left by a server that was killed: nobody answers on it
        path.unlink()
    return lock


class _Connection(socketserver.StreamRequestHandler):
    server: Server

    def handle(self) -> None:
        self.connection.settimeout(None)  # an interactive client may think for as long as it likes
        greeted = False
        for message in self._messages():
            if isinstance(message, str):  # a line that could not be read as a request: say so, keep the connection
                self._reply({"ok": False, "why": message})
            elif not greeted:
                greeted = self._greet(message)
                if not greeted:
                    return
            else:
                self._reply(self._answer(message))

    def _messages(self) -> Iterator[dict | str]:
        while line := self.rfile.readline(MAX_LINE + 1):
            if not line.endswith(b"\n"):
                yield f"a request longer than {MAX_LINE:,} bytes"
                return
            try:
                message = json.loads(line)
            except ValueError:
                yield "a request that is not JSON"
                continue
            yield message if isinstance(message, dict) else "a request that is not a JSON object"

    def _greet(self, message: dict) -> bool:
        if message.get("protocol") != PROTOCOL:
            self._reply({"ok": False, "why": f"the resident answerer speaks protocol {PROTOCOL}, not {message.get('protocol')!r}"})
            return False
        if message.get("identity") != self.server.identity:
            self._reply({"ok": False, "why": "the resident answerer runs other settings or another version of the bot"})
            return False
        self._reply({"ok": True})
        return True

    def _answer(self, message: dict) -> dict:
        try:
            return self.server.handle(message)
        except Exception as error:  # one bad question must not take the server down: the client answers it itself
            traceback.print_exc()  # and the server's output shows what failed
            return {"ok": False, "why": f"the resident answerer failed on this question ({type(error).__name__}: {error})"}

    def _reply(self, reply: dict) -> None:
        _send(self.connection, reply)


def _send(sock: socket.socket, reply: dict) -> None:
    with contextlib.suppress(OSError):  # a client that left: nothing to tell
        sock.sendall(json.dumps(reply, ensure_ascii=False).encode() + b"\n")


@contextlib.contextmanager
def stopped_by_sigterm() -> Iterator[None]:
    """SIGTERM (a service manager's stop) ends `serve_forever` as Ctrl-C does, so the socket file is removed."""

    def stop(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
