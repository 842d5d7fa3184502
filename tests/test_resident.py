"""`python -m bot serve` keeps the engine loaded, and `ask` with the same settings answers through it.

The server runs as the real command in its own process; `ask` runs in this one, so the tests can
see whether it loaded an engine itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import pytest
from piped_stdin import Lines

from bot import cli, resident
from bot.cli import main
from bot.config import Settings

ORCHARD = Path(__file__).resolve().parent / "fixtures" / "orchard"
QUESTIONS = "How many bees live in a hive?\nWhy did pear yields fall?\nWhat is the capital of France?\n"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    copy = tmp_path / "orchard"
    shutil.copytree(ORCHARD, copy)
    return copy


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The settings of both sides: this process's `ask` and the server's."""
    settings = {"INDEX_CACHE": str(tmp_path / "cache"), "SEMANTIC": "off"}
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    return {**os.environ, **settings}


@pytest.fixture
def local_loads(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Each engine `ask` loads itself (instead of asking the server)."""
    loads: list[Settings] = []
    load = cli._load

    def counted(settings: Settings, **options: bool):
        loads.append(settings)
        return load(settings, **options)

    monkeypatch.setattr(cli, "_load", counted)
    return loads


class _Serving:
    """A running `python -m bot serve`."""

    def __init__(self, corpus: Path, env: dict[str, str]) -> None:
        self.path = resident.socket_path(Settings(corpus_dir=corpus, index_cache=Path(env["INDEX_CACHE"])))
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--corpus", str(corpus)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        deadline = time.monotonic() + 120
        while not _listening(self.path):
            assert self.process.poll() is None, f"serve exited: {self.process.communicate()}"
            assert time.monotonic() < deadline, "serve never listened"
            time.sleep(0.05)

    def stop(self, signum: int = signal.SIGTERM) -> tuple[int, str]:
        self.process.send_signal(signum)
        _, err = self.process.communicate(timeout=60)
        return self.process.returncode, err


@contextmanager
def serving(corpus: Path, env: dict[str, str]) -> Iterator[_Serving]:
    server = _Serving(corpus, env)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)


def _listening(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
        return True
    except OSError:
        return False
    finally:
        probe.close()


def _ask(capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch, corpus: Path, *options: str) -> tuple[str, str]:
    monkeypatch.setattr("sys.stdin", Lines(QUESTIONS))
    assert main(["ask", *options, "--corpus", str(corpus)]) == 0
    captured = capsys.readouterr()
    return captured.out, captured.err


def _without_timings(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.endswith(" ms)"))


@pytest.mark.parametrize("options", [["--json"], ["--context", "1"]], ids=["json", "readable"])
def test_ask_answers_through_a_running_serve_exactly_as_it_answers_alone(options, corpus, env, local_loads, capsys, monkeypatch) -> None:
    with serving(corpus, env) as server:
        through_server, notes = _ask(capsys, monkeypatch, corpus, *options)
        assert not local_loads and notes == ""
        assert stat.S_IMODE(server.path.stat().st_mode) == 0o600  # only its owner may connect
        code, err = server.stop()
    assert code == 0 and "Stopped." in err and not server.path.exists()  # SIGTERM ends it cleanly, socket file gone
    alone, _ = _ask(capsys, monkeypatch, corpus, *options)
    assert len(local_loads) == 1
    assert "A healthy hive holds about 50,000 bees." in through_server
    assert _without_timings(through_server) == _without_timings(alone)


def test_a_server_with_other_settings_is_passed_over_with_a_note(corpus, env, local_loads, capsys, monkeypatch) -> None:
    with serving(corpus, env):
        monkeypatch.setenv("TOP_K", "1")  # not an answering setting: `ask` sends its own top-k with each question
        _ask(capsys, monkeypatch, corpus, "--json")
        assert not local_loads
        monkeypatch.setenv("CORPUS_IGNORE", "*.md")  # an answering setting: the server's answers could differ
        out, err = _ask(capsys, monkeypatch, corpus, "--json")
    assert "note: the resident answerer runs other settings or another version of the bot; loading the articles here" in err
    assert len(local_loads) == 1
    assert json.loads(out.splitlines()[0])["answers"][0]["sentence"] == "A healthy hive holds about 50,000 bees."


def test_changed_articles_are_answered_here_while_the_server_reads_them_again(corpus, env, local_loads, capsys, monkeypatch) -> None:
    question = "How many hives does the new apiary keep?"
    with serving(corpus, env) as server:
        assert main(["ask", "--json", "--corpus", str(corpus), question]) == 0
        assert json.loads(capsys.readouterr().out)["abstained"] is True
        (corpus / "05_apiary.txt").write_text("The Apiary\n\nThe new apiary keeps 40 hives of bees.\n", encoding="utf-8")

        assert main(["ask", "--json", "--corpus", str(corpus), question]) == 0
        captured = capsys.readouterr()
        assert "the articles changed since the resident answerer read them" in captured.err
        assert len(local_loads) == 1  # answered here, from the changed articles
        assert json.loads(captured.out)["answers"][0]["sentence"] == "The new apiary keeps 40 hives of bees."

        deadline = time.monotonic() + 60
        while True:  # the server reads them again meanwhile, then answers from them itself
            loaded = len(local_loads)
            assert main(["ask", "--json", "--corpus", str(corpus), question]) == 0
            captured = capsys.readouterr()
            if not captured.err:
                break
            assert time.monotonic() < deadline, captured.err
            time.sleep(0.1)
        assert len(local_loads) == loaded  # the server answered this one
        assert json.loads(captured.out)["answers"][0]["sentence"] == "The new apiary keeps 40 hives of bees."
        assert "The articles changed: reading them again." in server.stop()[1]


def test_bad_requests_get_a_clear_reply_and_the_connection_goes_on(corpus, env) -> None:
    with serving(corpus, env) as server:
        talk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        talk.connect(str(server.path))
        replies = talk.makefile("rb")

        def send(line: bytes) -> dict:
            talk.sendall(line + b"\n")
            return json.loads(replies.readline())

        assert send(b"hello?") == {"ok": False, "why": "a request that is not JSON"}
        settings = Settings(corpus_dir=corpus, index_cache=Path(env["INDEX_CACHE"]), semantic=False)
        greeting = send(json.dumps({"protocol": resident.PROTOCOL, "identity": resident.identity(settings)}).encode())
        assert greeting["ok"] is True
        assert send(b"[1, 2]") == {"ok": False, "why": "a request that is not a JSON object"}
        assert send(b'{"question": "bees?", "top_k": 99, "json": true, "context": 0}') == {
            "ok": False, "why": "a request with top_k outside 1 to 10"
        }
        reply = send(b'{"question": "How many bees live in a hive?", "top_k": 1, "json": true, "context": 0}')
        assert json.loads(reply["shown"])["answers"][0]["sentence"] == "A healthy hive holds about 50,000 bees."
        assert send(b"x" * (resident.MAX_LINE + 10)) == {"ok": False, "why": "a request longer than 65,536 bytes"}
        assert replies.readline() == b""  # then the server ends that connection, and goes on answering others
        talk.close()
        assert resident.Client.connect(settings) is not None


def test_a_stranger_s_greeting_is_refused(corpus, env) -> None:
    with serving(corpus, env) as server:
        talk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        talk.connect(str(server.path))
        talk.sendall(b'{"protocol": 1, "identity": "someone else"}\n')
        reply = json.loads(talk.makefile("rb").readline())
        assert reply == {"ok": False, "why": "the resident answerer runs other settings or another version of the bot"}


def test_a_second_serve_is_refused_and_a_dead_server_s_socket_file_is_taken_over(corpus, env, local_loads, capsys, monkeypatch) -> None:
    with serving(corpus, env) as first:
        second = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--corpus", str(corpus)], env=env, capture_output=True, text=True, timeout=120, check=False
        )
        assert second.returncode == 2
        assert "error: another `serve` already answers for these articles" in second.stderr
        first.stop(signal.SIGKILL)
    assert first.path.exists()  # a killed server cannot remove its socket file

    out, err = _ask(capsys, monkeypatch, corpus, "--json")  # nobody listens there: answered here, without a fuss
    assert err == "" and len(local_loads) == 1 and len(out.splitlines()) == 3
    with serving(corpus, env):
        _ask(capsys, monkeypatch, corpus, "--json")
    assert len(local_loads) == 1


def test_serve_needs_a_saved_index_folder(corpus, env) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--corpus", str(corpus)],
        env={**env, "INDEX_CACHE": "off"}, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 2
    assert "error: `serve` listens beside the saved index, and INDEX_CACHE is off" in done.stderr


@contextmanager
def _transport(tmp_path: Path, handle: resident.Handler) -> Iterator[resident.Server]:
    """The server's transport alone, in a thread of this process, with a handler of the test's own."""
    server = resident.Server(tmp_path / "ask.sock", "us", handle)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _greeted(path: Path) -> tuple[socket.socket, BinaryIO]:
    talk = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    talk.connect(str(path))
    replies = talk.makefile("rb")
    talk.sendall(json.dumps({"protocol": resident.PROTOCOL, "identity": "us"}).encode() + b"\n")
    assert json.loads(replies.readline()) == {"ok": True}
    return talk, replies


def test_a_question_the_server_fails_on_is_refused_with_its_reason_and_the_server_goes_on(tmp_path: Path, capfd) -> None:
    def handle(request: dict) -> dict:
        if request["question"] == "boom":
            raise RuntimeError("the engine broke")
        return {"ok": True, "shown": request["question"].upper()}

    with _transport(tmp_path, handle) as server:
        talk, replies = _greeted(server.path)
        talk.sendall(b'{"question": "boom"}\n{"question": "still there?"}\n')
        assert json.loads(replies.readline()) == {
            "ok": False, "why": "the resident answerer failed on this question (RuntimeError: the engine broke)"
        }
        assert json.loads(replies.readline()) == {"ok": True, "shown": "STILL THERE?"}
        talk.close()
    assert "RuntimeError: the engine broke" in capfd.readouterr().err  # and the server's output says what failed
    assert not server.path.exists()


def test_past_the_connection_limit_a_client_is_told_so_and_the_next_one_after_a_slot_frees_is_served(tmp_path: Path) -> None:
    with _transport(tmp_path, lambda request: {"ok": True, "shown": "fine"}) as server:
        held = [_greeted(server.path) for _ in range(resident.MAX_CLIENTS)]
        extra = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        extra.connect(str(server.path))
        assert json.loads(extra.makefile("rb").readline()) == {
            "ok": False, "why": f"the resident answerer is serving {resident.MAX_CLIENTS} clients already"
        }
        held.pop()[0].close()
        deadline = time.monotonic() + 10
        while True:  # the freed slot comes back once the server's thread has seen the close
            later = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            later.connect(str(server.path))
            with contextlib.suppress(BrokenPipeError):  # still full: the server has said so and closed
                later.sendall(json.dumps({"protocol": resident.PROTOCOL, "identity": "us"}).encode() + b"\n")
            if json.loads(later.makefile("rb").readline())["ok"]:
                break
            assert time.monotonic() < deadline
            time.sleep(0.05)
        for talk, _ in held:
            talk.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")
def test_a_socket_of_another_user_is_never_asked(corpus, env, local_loads, capsys, monkeypatch) -> None:
    path = resident.socket_path(Settings(corpus_dir=corpus, index_cache=Path(env["INDEX_CACHE"])))
    path.parent.mkdir(parents=True)
    impostor = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    impostor.bind(str(path))
    impostor.listen()
    os.chown(path, 65534, 65534)  # nobody's
    out, err = _ask(capsys, monkeypatch, corpus, "--json")
    impostor.close()
    assert f"note: {path} belongs to another user, so `ask` does not trust its answers" in err
    assert len(local_loads) == 1
    assert json.loads(out.splitlines()[0])["answers"][0]["sentence"] == "A healthy hive holds about 50,000 bees."
