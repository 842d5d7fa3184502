"""The terminal interface: `ask`, `sources`, `feedback`, `check`, `serve`, `run` and `health`, a thin wrapper over the engine.

Each command imports only what it uses: asking never loads Discord, and the container's
health probe loads neither Discord nor the engine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import textwrap
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import platformdirs

from bot import resident
from bot.config import TOP_K_RANGE, Settings, SettingsError, cache_dir, load_settings, whole_number
from bot.health import DEFAULT_MAX_AGE, check_health
from bot.memory import return_freed_memory
from bot.terminal import ShownStream

if TYPE_CHECKING:
    from bot.search.engine import Answer, Engine
    from bot.search.read.corpus import Article

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader left (`| head`)
WIDTH = 88
ANSWER_MARK = "▶ "
CONTEXT_MARK = "│ "
# The interactive ask's questions, kept across runs (~/.local/state/corpus-answer-bot/ on Linux).
HISTORY_FILE = Path(platformdirs.user_state_dir("corpus-answer-bot", appauthor=False)) / "ask_history"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; Ctrl-C and a reader that stops reading (`| head`) end it quietly, without a traceback."""
    return_freed_memory()
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = ShownStream(sys.stdout), ShownStream(sys.stderr)  # type: ignore[assignment]
    try:
        code = _dispatch(argv)
        sys.stdout.flush()  # a closed pipe shows up here, not at exit where it could not be caught
        return code
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's own flush at exit does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    finally:
        sys.stdout, sys.stderr = streams


def _dispatch(argv: Sequence[str] | None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    return int(args.handler(args, settings) or 0)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bot", description="Answer questions from a folder of articles, in a terminal or on Discord."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ask = commands.add_parser(
        "ask",
        help="answer a question (or one per line from standard input)",
        description=(
            "Print the best-supported sentences for a question. With no question, ask at a prompt "
            "(line editing and history; Ctrl-D or Ctrl-C quits), or read one question per line from a pipe."
        ),
    )
    ask.add_argument("question", nargs="*", help="the question; omit it to read questions from standard input")
    ask.add_argument(
        "--top-k",
        type=_top_k,
        default=None,
        metavar="N",
        help=f"how many sentences to show, {TOP_K_RANGE.start} to {TOP_K_RANGE.stop - 1} (default: TOP_K, or {Settings.top_k})",
    )
    ask.add_argument("--json", action="store_true", help="one JSON object per question, one per line")
    ask.add_argument("--context", type=_non_negative, default=0, metavar="N", help="also show N neighbouring sentences each side, marked as context")
    _corpus_option(ask)
    ask.set_defaults(handler=_ask)

    sources = commands.add_parser("sources", help="list the articles", description="List the articles in the corpus.")
    sources.add_argument("--json", action="store_true", help="print the list as JSON")
    _corpus_option(sources)
    sources.set_defaults(handler=_sources)

    feedback = commands.add_parser(
        "feedback",
        help="summarise the 👍/👎 feedback file, worst-rated answers first",
        description="Summarise the votes the Discord bot appended to FEEDBACK_FILE: totals, then the worst-rated answers.",
    )
    feedback.add_argument("--file", type=Path, default=None, metavar="PATH", help="the feedback file (default: FEEDBACK_FILE)")
    feedback.add_argument("--limit", type=_positive, default=20, metavar="N", help="how many answers to list (default: 20)")
    feedback.set_defaults(handler=_feedback)

    check = commands.add_parser(
        "check", help="report what `run` would do, without connecting", description="Load the settings and the corpus and report."
    )
    _corpus_option(check)
    check.set_defaults(handler=_check)

    serve = commands.add_parser(
        "serve",
        help="keep the engine loaded, so `ask` answers at once",
        description=(
            "Load the articles and models once and answer `ask` over a Unix socket beside the saved index, until "
            "Ctrl-C or SIGTERM. `ask` with the same settings uses it by itself; without it, `ask` loads everything "
            "itself (about half a second)."
        ),
    )
    _corpus_option(serve)
    serve.set_defaults(handler=_serve)

    run = commands.add_parser("run", help="run the Discord bot (needs DISCORD_TOKEN)", description="Connect to Discord and answer.")
    _corpus_option(run)
    run.set_defaults(handler=_run)

    health = commands.add_parser(
        "health",
        help="exit 0 while the running bot's heartbeat is fresh (for container health checks)",
        description="Check the heartbeat file (HEALTH_FILE) that a connected bot refreshes.",
    )
    health.add_argument("--max-age", type=float, default=DEFAULT_MAX_AGE, metavar="SECONDS", help="how old a heartbeat may be")
    health.set_defaults(handler=_health)
    return parser


def _corpus_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--corpus", type=Path, default=None, metavar="DIR", help="the articles' folder, subfolders included (default: CORPUS_DIR, else the repository's corpus/ folder)")


def _top_k(raw: str) -> int:
    """The same rule as the TOP_K setting, so the terminal and Discord agree on what a valid limit is."""
    try:
        return whole_number("--top-k", raw, TOP_K_RANGE)
    except SettingsError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(raw: str) -> int:
    value = _non_negative(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _non_negative(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _with_corpus(args: argparse.Namespace, settings: Settings) -> Settings:
    if args.corpus is None:
        return settings
    return Settings(**{**settings.__dict__, "corpus_dir": args.corpus})


def _load(settings: Settings) -> Engine | None:
    from bot.factory import load_engine
    from bot.progress import progress_to
    from bot.search.read.corpus import CorpusError

    try:
        engine = load_engine(settings, progress=progress_to(getattr(sys.stderr, "stream", sys.stderr)))
    except CorpusError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    for warning in engine.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return engine


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    settings = _with_corpus(args, settings)
    answerer = _Answerer(settings)
    if not answerer.ready():
        return EXIT_USAGE
    top_k = args.top_k or settings.top_k
    piped = not args.question and not sys.stdin.isatty()
    if args.question:
        questions: Iterable[str] = [" ".join(args.question)]
    elif not piped:
        questions = _prompt()
    else:
        questions = _lines(sys.stdin, keep_blank=args.json)
    for question in questions:
        shown = answerer.answer({"question": question, "top_k": top_k, "json": args.json, "context": args.context})
        if shown is None:
            return EXIT_USAGE
        if piped and not args.json:
            print(f"? {question}", file=sys.stdout)  # which question each answer is for, as the prompt shows it
        print(shown, end="", flush=args.json)
    return 0


class _Answerer:
    """Answers from the resident server (`serve`) when one answers for these settings, else from an engine loaded here.

    Either way a question's output is `_shown`'s, so the two paths print the same. The server's warnings
    (a model that did not load, an index rebuilt) went to its own output when it loaded, as the Discord
    bot's go to its log, and are not repeated for every question. A server that stops answering midway
    (stopped, the articles changed) hands over to a local engine, with a note why.
    """

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._engine: Engine | None = None
        self._client: resident.Client | None = None
        try:
            self._client = resident.Client.connect(settings)
        except resident.Unavailable as why:
            print(f"note: {why}; loading the articles here instead", file=sys.stderr)
        if self._client is None:
            self._engine = _load(settings)

    def ready(self) -> bool:
        return self._client is not None or self._engine is not None

    def answer(self, request: dict) -> str | None:
        """What to print for one question; None when the articles cannot be loaded here (said on stderr)."""
        if self._client is not None:
            try:
                return str(self._client.ask(request)["shown"])
            except resident.Unavailable as why:
                print(f"note: {why}; loading the articles here instead", file=sys.stderr)
                self._client = None
                self._engine = _load(self._settings)
        if self._engine is None:
            return None
        return _shown(self._engine, request)


def _shown(engine: Engine, request: dict) -> str:
    """One question's output, as `ask` prints it: a JSON line with --json, else the readable answer."""
    answer = engine.ask(request["question"], request["top_k"])
    if request["json"]:
        return json.dumps(answer_json(answer), ensure_ascii=False) + "\n"
    out = io.StringIO()
    _print_answer(engine, answer, request["context"], out)
    return out.getvalue()


def _prompt() -> Iterator[str]:
    """Questions typed at a `? ` prompt, with line editing and history; an empty line asks again."""
    history = _history()
    print("Ask about the articles. Up and down recall earlier questions; Ctrl-D or Ctrl-C quits.", file=sys.stderr)
    try:
        while True:
            try:
                line = input("? ")
            except (EOFError, KeyboardInterrupt):
                print(file=sys.stderr)
                return
            if line.strip():
                yield line
    finally:
        history.save()


class _History:
    """The interactive questions, kept from one run to the next in the platform's per-user state folder."""

    LENGTH = 1000

    def __init__(self, readline: object | None, path: Path) -> None:
        self.readline = readline
        self.path = path

    def load(self) -> None:
        if self.readline is None:
            return
        self.readline.set_history_length(self.LENGTH)
        with contextlib.suppress(OSError):
            self.readline.read_history_file(self.path)

    def save(self) -> None:
        if self.readline is None:
            return
        with contextlib.suppress(OSError):  # a read-only home must not spoil the session's end
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.readline.write_history_file(self.path)


def _history() -> _History:
    """Line editing and the saved history (importing readline is what gives input() both)."""
    try:
        import readline
    except ImportError:  # a Python built without it still works, only without editing
        readline = None
    history = _History(readline, HISTORY_FILE)
    history.load()
    return history


def _lines(stream: TextIO, *, keep_blank: bool) -> Iterator[str]:
    """One question per line from a pipe. With --json every line gets its object, so output lines match input lines."""
    for line in stream:
        line = line.rstrip("\n")
        if keep_blank or line.strip():
            yield line


def answer_json(answer: Answer) -> dict:
    """The stable JSON contract of `ask --json` (the evaluation scripts read it); keys are only ever added."""
    return {
        "question": answer.question,
        "abstained": answer.abstained,
        "reason": answer.reason or None,
        "answers": [
            {
                "sentence": hit.text,
                "score": round(hit.score, 6),
                "article": _article_ref(hit.article),
                "also_in": [_article_ref(a) for a in hit.also_in],
                "code": hit.code or None,
            }
            for hit in answer.hits
        ],
    }


def _article_ref(article: Article) -> dict:
    return {"file": article.file, "title": article.title, "number": article.number}


def _print_answer(engine: Engine, answer: Answer, context: int, out: TextIO) -> None:
    if answer.abstained:
        count = len(engine.sources())
        print(f"No answer in the {'1 article' if count == 1 else f'{count:,} articles'}: {answer.reason}.", file=out)
        print("Try other words, or the `sources` command to see what the articles cover.\n", file=out)
        return
    if context:
        print(f"({CONTEXT_MARK}marks the context before and after each answer, {ANSWER_MARK}the answer, # a heading)", file=out)
    for rank, hit in enumerate(answer.hits, start=1):
        lines = _in_context(engine, hit.sentence_id, context) if context else [("", hit.text)]
        for number, (mark, text) in enumerate(lines):
            lead = f"{rank}. " if number == 0 else "   "
            print(textwrap.fill(text, WIDTH, initial_indent=lead + mark, subsequent_indent="   " + " " * len(mark)), file=out)
        if hit.code:
            print(textwrap.indent(hit.code, "   ┆ ", lambda line: True), file=out)
        also = f"  (also in {', '.join(f'[{a.number}]' for a in hit.also_in)})" if hit.also_in else ""
        print(f"   — [{hit.article.number}] {hit.article.title}  · score {hit.score:.2f}{also}", file=out)
    print(f"({answer.elapsed_ms:.1f} ms)\n", file=out)


def _in_context(engine: Engine, sentence_id: int, window: int) -> list[tuple[str, str]]:
    """The answer in its place among its neighbours, each line with its mark."""
    from bot.search.read.sentences import Kind

    lines = []
    for sentence in engine.context_of(sentence_id, window):
        if sentence.id == sentence_id:
            lines.append((ANSWER_MARK, sentence.text))
        else:
            heading = sentence.kind in (Kind.HEADING, Kind.TERM)
            lines.append((CONTEXT_MARK, f"# {sentence.text}" if heading else sentence.text))
    return lines


def _sources(args: argparse.Namespace, settings: Settings) -> int:
    engine = _load(_with_corpus(args, settings))
    if engine is None:
        return EXIT_USAGE
    articles = engine.sources()
    if args.json:
        print(json.dumps([_article_json(a) for a in articles], ensure_ascii=False, indent=2))
        return 0
    for article in articles:
        print(f"[{article.number}] {article.title}")
        details = [article.author, article.publisher, article.url, article.date, f"{article.sentence_count:,} sentences", article.file]
        print("    " + " · ".join(d for d in details if d))
    return 0


def _article_json(article: Article) -> dict:
    return {
        "number": article.number,
        "file": article.file,
        "title": article.title,
        "publisher": article.publisher,
        "url": article.url,
        "date": article.date,
        "author": article.author,
        "sentences": article.sentence_count,
    }


def _feedback(args: argparse.Namespace, settings: Settings) -> int:
    from bot.feedback_report import load_summary, render

    path = args.file or settings.feedback_file
    try:
        summary = load_summary(path)
    except FileNotFoundError:
        print(f"No feedback yet: {path} does not exist (FEEDBACK_FILE; the bot creates it at the first 👍 or 👎).")
        return 0
    except OSError as error:
        print(f"error: cannot read feedback file {path}: {error.strerror or error}; check FEEDBACK_FILE", file=sys.stderr)
        return EXIT_USAGE
    for note in summary.notes:
        print(f"warning: {note}", file=sys.stderr)
    print(render(summary, path, args.limit))
    return 0


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord_bot.run import check

    return check(_with_corpus(args, settings))


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    settings = _with_corpus(args, settings)
    path = resident.socket_path(settings)
    if path is None:
        print("error: `serve` listens beside the saved index, and INDEX_CACHE is off; set it to a folder", file=sys.stderr)
        return EXIT_USAGE
    engine = _load(settings)
    if engine is None:
        return EXIT_USAGE
    served = _Served(settings, engine)
    try:
        server = resident.Server(path, resident.identity(settings), served.handle)
    except resident.AlreadyServing as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:
        print(f"error: cannot listen at {path}: {error.strerror or error}", file=sys.stderr)
        return EXIT_USAGE
    print(f"Answering `ask` about {settings.corpus_dir} at {path}. Ctrl-C stops.", file=sys.stderr)
    with server, resident.stopped_by_sigterm(), contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    print("Stopped.", file=sys.stderr)
    return 0


class _Served:
    """The engine `serve` answers from, read again when its articles change (their saved index's fingerprint).

    Each question first checks the fingerprint (the files' stats against the saved record: about a
    millisecond for the default articles); when it has changed, that question's client is told so and
    answers it itself while the articles are read again here.
    """

    def __init__(self, settings: Settings, engine: Engine) -> None:
        from bot.search import cache
        from bot.search.engine import SearchSettings

        self._settings, self._engine = settings, engine
        search, folder = SearchSettings(ignore=settings.corpus_ignore), cache_dir(settings)
        self._fingerprint = lambda: cache.fingerprint(settings.corpus_dir, search, folder)
        self._lock = threading.Lock()
        self._reading = False

    def handle(self, request: dict) -> dict:
        problem = _request_problem(request)
        if problem:
            return {"ok": False, "why": f"a request with {problem}"}
        with self._lock:
            if self._reading:
                return {"ok": False, "why": "the resident answerer is reading the changed articles again"}
            if self._fingerprint() != self._engine.fingerprint:
                self._reading = True
                threading.Thread(target=self._read_again, name="reading the articles again", daemon=True).start()
                return {"ok": False, "why": "the articles changed since the resident answerer read them; it is reading them again"}
            return {"ok": True, "shown": _shown(self._engine, request)}

    def _read_again(self) -> None:
        print("The articles changed: reading them again.", file=sys.stderr)
        engine = _load(self._settings)  # on failure (said on stderr) the old engine stays, and the next question tries again
        with self._lock:
            self._engine = engine or self._engine
            self._reading = False
        if engine is not None:
            print("Answering from the changed articles.", file=sys.stderr)


def _request_problem(request: dict) -> str:
    """What is wrong with a question request, if anything: the server checks what the client's parser did."""
    if not isinstance(request.get("question"), str):
        return "no question"
    if type(request.get("top_k")) is not int or request["top_k"] not in TOP_K_RANGE:
        return f"top_k outside {TOP_K_RANGE.start} to {TOP_K_RANGE.stop - 1}"
    if type(request.get("context")) is not int or request["context"] < 0:
        return "a context that is not a whole number of 0 or more"
    if type(request.get("json")) is not bool:
        return "json that is not true or false"
    return ""


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord_bot.run import run_bot

    return run_bot(_with_corpus(args, settings))


def _health(args: argparse.Namespace, settings: Settings) -> int:
    if settings.health_file is None:
        print("error: HEALTH_FILE is not set, so there is no heartbeat to check", file=sys.stderr)
        return EXIT_USAGE
    healthy, reason = check_health(settings.health_file, args.max_age)
    print(reason, file=sys.stdout if healthy else sys.stderr)
    return 0 if healthy else 1
