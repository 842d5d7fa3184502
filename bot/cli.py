"""The terminal interface: `ask`, `sources`, `check`, `run` and `health`, a thin wrapper over the engine.

Each command imports only what it uses: asking never loads Discord, and the container's
health probe loads neither Discord nor the engine.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from typing import TYPE_CHECKING

from bot.config import Settings, SettingsError, load_settings
from bot.health import DEFAULT_MAX_AGE, check_health

if TYPE_CHECKING:
    from bot.search.corpus import Article
    from bot.search.engine import Answer, Engine, Progress

EXIT_USAGE = 2


def main(argv: Sequence[str] | None = None) -> int:
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
        description="Print the best-supported sentences for a question. With no question, read one per line.",
    )
    ask.add_argument("question", nargs="*", help="the question; omit it to read questions from standard input")
    ask.add_argument("--top-k", type=_positive, default=None, metavar="N", help="how many sentences to show (default: TOP_K or 3)")
    ask.add_argument("--json", action="store_true", help="one JSON object per question, one per line")
    ask.add_argument("--context", type=_non_negative, default=0, metavar="N", help="also show N neighbouring sentences each side")
    _corpus_option(ask)
    ask.set_defaults(handler=_ask)

    sources = commands.add_parser("sources", help="list the articles", description="List the articles in the corpus.")
    sources.add_argument("--json", action="store_true", help="print the list as JSON")
    _corpus_option(sources)
    sources.set_defaults(handler=_sources)

    check = commands.add_parser(
        "check", help="report what `run` would do, without connecting", description="Load the settings and the corpus and report."
    )
    _corpus_option(check)
    check.set_defaults(handler=_check)

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
    parser.add_argument("--corpus", type=Path, default=None, metavar="DIR", help="the articles' folder (default: CORPUS_DIR or ./corpus)")


def _positive(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _non_negative(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def _with_corpus(args: argparse.Namespace, settings: Settings) -> Settings:
    if args.corpus is None:
        return settings
    return Settings(**{**settings.__dict__, "corpus_dir": args.corpus})


def _load(settings: Settings) -> Engine | None:
    from bot.factory import load_engine
    from bot.search.corpus import CorpusError

    try:
        engine = load_engine(settings, progress=_progress_bar(sys.stderr))
    except CorpusError as error:
        print(f"error: {error}", file=sys.stderr)
        return None
    for warning in engine.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return engine


def _progress_bar(out: TextIO) -> Progress | None:
    """A one-line bar for long builds in a terminal; nothing when output is not a terminal."""
    if not out.isatty():
        return None

    def report(what: str, done: int, total: int) -> None:
        filled = 30 * done // max(total, 1)
        end = "\n" if done >= total else ""
        print(f"\r{what} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}", end=end, file=out, flush=True)

    return report


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    settings = _with_corpus(args, settings)
    engine = _load(settings)
    if engine is None:
        return EXIT_USAGE
    top_k = args.top_k or settings.top_k
    questions: Iterable[str] = [" ".join(args.question)] if args.question else _lines(sys.stdin)
    for question in questions:
        answer = engine.ask(question, top_k)
        if args.json:
            print(json.dumps(answer_json(answer), ensure_ascii=False), flush=True)
        else:
            _print_answer(engine, answer, args.context, sys.stdout)
    return 0


def _lines(stream: TextIO) -> Iterable[str]:
    interactive = stream.isatty()
    while True:
        if interactive:
            print("? ", end="", flush=True)
        line = stream.readline()
        if not line:
            return
        yield line.rstrip("\n")


def answer_json(answer: Answer) -> dict:
    """The stable JSON contract of `ask --json` (the evaluation scripts read it)."""
    return {
        "question": answer.question,
        "abstained": answer.abstained,
        "answers": [
            {
                "sentence": hit.text,
                "score": round(hit.score, 6),
                "article": {"file": hit.article.file, "title": hit.article.title},
                "also_in": [{"file": a.file, "title": a.title} for a in hit.also_in],
            }
            for hit in answer.hits
        ],
    }


def _print_answer(engine: Engine, answer: Answer, context: int, out: TextIO) -> None:
    width = 88
    if answer.abstained:
        print(f"No answer in the {len(engine.sources())} articles: {answer.reason}.", file=out)
        print("Try other words, or `python -m bot sources` to see what the articles cover.\n", file=out)
        return
    for rank, hit in enumerate(answer.hits, start=1):
        body = hit.text
        if context:
            body = " ".join(s.text for s in engine.context(hit, context))
        print(textwrap.fill(body, width, initial_indent=f"{rank}. ", subsequent_indent="   "), file=out)
        also = f"  (also in {', '.join(f'[{a.number}]' for a in hit.also_in)})" if hit.also_in else ""
        print(f"   — [{hit.article.number}] {hit.article.title}  · score {hit.score:.2f}{also}", file=out)
    print(f"({answer.elapsed_ms:.1f} ms)\n", file=out)


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
        details = [article.publisher, article.url, article.date, f"{article.sentence_count} sentences", article.file]
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
        "sentences": article.sentence_count,
    }


def _check(args: argparse.Namespace, settings: Settings) -> int:
    from bot.discord_bot.run import check

    return check(_with_corpus(args, settings))


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
