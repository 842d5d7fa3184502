"""Turn answers, articles and help into Discord embeds or plain text that always fit Discord's limits.

Pure functions: no network, no bot. Measuring, clipping and escaping text is text.py's job; this
module lays the pieces out within each embed's and message's limits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import discord

from bot.discord_bot.stats import Snapshot
from bot.discord_bot.text import clip, duration, escape, flat, highlight, inert, plural, safe_url, units
from bot.search.engine import Answer, Hit, Sentence
from bot.search.read.corpus import Article

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
FOOTER_LIMIT = 2048
FIELD_VALUE_LIMIT = 1024
EMBED_TOTAL_LIMIT = 6000
ARTICLES_PER_PAGE = 10
ALSO_IN_SHOWN = 5
HELP_ENTRIES = 12  # 12 fields of at most 380 units keep the help embed under 6,000
MIN_BLOCK = 150  # below this a further answer would be a stub; leave it out instead
CODE_LINES = 12  # a code example longer than this is cut: the answer is the sentence, the code its illustration
MIN_CODE = 60  # room below which a code example is left out rather than shown as a stub
COLOUR = discord.Colour.blurple()


def article_label(article: Article, *, links: bool, limit: int = 120) -> str:
    """`#3 Title`, linked when the article has a URL and links are wanted."""
    title = escape(clip(article.title, limit))
    url = safe_url(article.url)
    if url is None:
        return f"#{article.number} {title}"
    return f"#{article.number} [{title}]({url})" if links else f"#{article.number} {title} (<{url}>)"


def _also_in(articles: Sequence[Article], *, links: bool) -> str:
    shown = []
    for article in articles[:ALSO_IN_SHOWN]:
        url = safe_url(article.url)
        shown.append(f"[#{article.number}]({url})" if links and url else f"#{article.number}")
    more = len(articles) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def hit_block(rank: int, hit: Hit, *, links: bool, limit: int) -> str:
    """One numbered, quoted sentence and where it comes from, in at most `limit` units."""
    source = f"— {article_label(hit.article, links=links)}"
    if hit.also_in:
        source += f" · also in {_also_in(hit.also_in, links=links)}"
    source = clip(source, limit // 2)
    frame = f"**{rank}.** “”\n{source}"
    room = limit - units(frame)
    text = flat(hit.text)
    quoted = highlight(text, hit.matched)
    cut = len(text)
    while units(quoted) > room and cut > 0:
        cut = max(0, cut - max(1, units(quoted) - room))
        quoted = highlight(text[:cut].rstrip() + "…", hit.matched) if cut else "…"
    code = code_block(hit.code, limit - units(frame) - units(quoted) - 1)
    return f"**{rank}.** “{quoted}”\n{code + chr(10) if code else ''}{source}"


def code_block(code: str, room: int) -> str:
    """A code example as a Discord code block of at most `room` units and CODE_LINES lines, or "" if it cannot fit."""
    if not code or room < MIN_CODE:
        return ""
    lines = code.replace("```", "ˋˋˋ").split("\n")
    if len(lines) > CODE_LINES:
        lines = [*lines[:CODE_LINES], "…"]
    while lines and units("```\n" + "\n".join(lines) + "\n```") > room:
        lines = [*lines[:-2], "…"] if len(lines) > 2 else []
    return "```\n" + "\n".join(lines) + "\n```" if lines and lines != ["…"] else ""


def _blocks(hits: Sequence[Hit], budget: int, *, links: bool) -> list[str]:
    """Hit blocks in rank order within `budget`; a hit that does not fit whole is shortened or left out."""
    blocks: list[str] = []
    used = 0
    for rank, hit in enumerate(hits, start=1):
        room = budget - used - (2 if blocks else 0)
        if room < MIN_BLOCK:
            break
        block = hit_block(rank, hit, links=links, limit=room)
        blocks.append(block)
        used += units(block) + (2 if len(blocks) > 1 else 0)
    return blocks


def footer(answer: Answer, article_count: int) -> str:
    return f"Searched {plural(article_count, 'article')} in {answer.elapsed_ms:.0f} ms"


def answer_embed(answer: Answer, *, article_count: int) -> discord.Embed:
    """The answer as an embed: numbered quoted sentences with their articles, search time below."""
    title = clip(inert(answer.question), TITLE_LIMIT) or "Answer"
    foot = clip(footer(answer, article_count), FOOTER_LIMIT)
    budget = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - units(title) - units(foot))
    description = "\n\n".join(_blocks(answer.hits, budget, links=True))
    embed = discord.Embed(title=title, description=description, colour=COLOUR)
    embed.set_footer(text=foot)
    return embed


def answer_text(answer: Answer, *, article_count: int) -> str:
    """The answer as plain text, for channels where the bot may not embed links."""
    header = f"**{clip(inert(answer.question), 300)}**"
    foot = f"-# {footer(answer, article_count)}"
    budget = CONTENT_LIMIT - units(header) - units(foot) - 4
    body = "\n\n".join(_blocks(answer.hits, budget, links=False))
    return f"{header}\n{body}\n\n{foot}"


def abstention(article_count: int, prefix: str) -> str:
    """The short, friendly reply when no sentence answers the question."""
    return (
        f"I couldn't find that in the {plural(article_count, 'article')} I know. "
        f"Try rephrasing with other words, or see `{prefix}sources` for what I can answer from."
    )


@dataclass(frozen=True)
class Page:
    number: int
    count: int
    articles: tuple[Article, ...]


def page_of(articles: Sequence[Article], number: int, per_page: int = ARTICLES_PER_PAGE) -> Page:
    """Page `number` (1-based, clamped to the pages there are) of the article list."""
    count = max(1, -(-len(articles) // per_page))
    number = min(max(1, number), count)
    start = (number - 1) * per_page
    return Page(number, count, tuple(articles[start : start + per_page]))


def _article_line(article: Article) -> str:
    details = ", ".join(escape(part) for part in (article.publisher, article.date) if part)
    line = article_label(article, links=True) + (f" — {details}" if details else "")
    return clip(line, 380)


def sources_embed(page: Page, *, total: int, prefix: str) -> discord.Embed:
    """One page of the article list."""
    lines = [_article_line(article) for article in page.articles]
    embed = discord.Embed(
        title=f"Sources ({plural(total, 'article')})", description="\n".join(lines), colour=COLOUR
    )
    embed.set_footer(text=f"Page {page.number} of {page.count} · {prefix}source N shows one article")
    return embed


def source_embed(article: Article, opening: Sequence[str]) -> discord.Embed:
    """One article's details and its opening lines."""
    embed = discord.Embed(
        title=clip(f"#{article.number} {escape(article.title)}", TITLE_LIMIT),
        url=safe_url(article.url),
        description=_opening(opening, DESCRIPTION_LIMIT - 1000),
        colour=COLOUR,
    )
    for name, value in _details(article):
        embed.add_field(name=name, value=clip(value, FIELD_VALUE_LIMIT), inline=True)
    return embed


def _details(article: Article) -> list[tuple[str, str]]:
    details = [("Publisher", article.publisher), ("Date", article.date), ("File", article.file)]
    shown = [(name, clip(escape(value), 200)) for name, value in details if value]
    shown.append(("Sentences", str(article.sentence_count)))
    return shown


def _opening(lines: Sequence[str], limit: int) -> str:
    if not lines:
        return "*(no text)*"
    quoted = [f"> {escape(line)}" for line in lines]
    return clip("\n".join(quoted), limit)


def embed_text(embed: discord.Embed) -> str:
    """Any of our embeds as plain text within 2,000 units: whole lines are dropped from the end to fit."""
    head = f"**{embed.title}**" if embed.title else ""
    if embed.url:
        head += f" <{embed.url}>"
    body = [line for line in (embed.description or "").split("\n")]
    for field in embed.fields:
        body += [f"**{field.name}**: {field.value}"]
    foot = f"-# {embed.footer.text}" if embed.footer.text else ""
    fixed = units(head) + units(foot) + 4
    kept: list[str] = []
    for line in body:
        if fixed + sum(units(k) + 1 for k in kept) + units(line) + 2 > CONTENT_LIMIT:
            kept.append("…")
            break
        kept.append(line)
    return clip("\n".join(part for part in (head, "\n".join(kept), foot) if part), CONTENT_LIMIT)


def missing_source(number: int, total: int, prefix: str) -> str:
    return f"There is no article #{number}; I know {plural(total, 'article')} (1 to {total}). See `{prefix}sources`."


def context_embed(passages: Sequence[tuple[int, Sequence[Sentence]]]) -> discord.Embed:
    """The sentences around each answer sentence; the answer sentence itself in bold."""
    per_passage = (DESCRIPTION_LIMIT - 100) // max(1, len(passages))
    blocks = []
    for rank, (sentence_id, sentences) in enumerate(passages, start=1):
        if not sentences:
            continue
        head = f"**{rank}.** {article_label(sentences[0].article, links=True)}"
        lines = [
            f"> **{escape(s.text)}**" if s.id == sentence_id else f"> {escape(s.text)}" for s in sentences
        ]
        blocks.append(clip("\n".join([head, *lines]), per_passage))
    description = "\n\n".join(blocks) or "That answer's sentences are no longer in the articles; ask again."
    return discord.Embed(title="More context", description=description, colour=COLOUR)


def articles_embed(articles: Sequence[Article], *, prefix: str) -> discord.Embed:
    """The articles an answer came from, one line each with what is known about them."""
    lines = [_article_line(article) for article in articles[:ARTICLES_PER_PAGE]]
    embed = discord.Embed(
        title="Sources of this answer",
        description="\n".join(lines) or "These articles are no longer loaded; ask again.",
        colour=COLOUR,
    )
    embed.set_footer(text=f"{prefix}source N shows one article · {prefix}sources lists them all")
    return embed


@dataclass(frozen=True)
class CommandHelp:
    usage: str
    summary: str
    example: str


def help_embed(entries: Sequence[CommandHelp], *, prefix: str, bot_name: str, menu: str) -> discord.Embed:
    """What the bot does and every command with an example."""
    intro = (
        f"Ask me about the articles I know. Use `{prefix}ask`, `/ask`, mention me "
        f"(`@{escape(bot_name)} your question`), reply to one of my answers, or just write to me in a DM. "
        f"To look up what a message says, right-click it → Apps → {menu}. `{prefix}help ask` explains one command."
    )
    embed = discord.Embed(title="How to ask me", description=intro, colour=COLOUR)
    for entry in entries[:HELP_ENTRIES]:
        embed.add_field(
            name=clip(entry.usage, 80),
            value=clip(f"{entry.summary}\nExample: `{entry.example}`", 300),
            inline=False,
        )
    return embed


def command_help_embed(entry: CommandHelp, *, details: str, choices: Sequence[tuple[str, str]]) -> discord.Embed:
    """One command in full: its usage, what it does, its choices if it has some, and an example."""
    parts = [entry.summary, details, "\n".join(f"- `{name}`: {what}" for name, what in choices)]
    description = clip("\n\n".join(part for part in parts if part), DESCRIPTION_LIMIT - 500)
    embed = discord.Embed(title=clip(entry.usage, TITLE_LIMIT), description=description, colour=COLOUR)
    embed.add_field(name="Example", value=clip(f"`{entry.example}`", FIELD_VALUE_LIMIT), inline=False)
    return embed


@dataclass(frozen=True)
class StatsReport:
    snapshot: Snapshot
    votes: str
    articles: int
    sentences: int
    model: str
    shards: str  # "" when the bot is not sharded


def stats_embed(report: StatsReport) -> discord.Embed:
    """The operator's view of the bot: questions, latency, votes, corpus, model and uptime."""
    snap = report.snapshot
    if snap.asked:
        questions = f"{snap.asked:,} asked: {snap.answered:,} answered, {snap.abstained:,} not ({snap.abstention_rate:.0%})"
    else:
        questions = "none yet"
    if snap.unanswered_chatter:
        questions += f"\n{snap.unanswered_chatter:,} answer-channel messages had no answer and were left alone"
    p50, p95 = snap.latency_ms(50), snap.latency_ms(95)
    if p50 is not None and p95 is not None:
        latency = f"p50 {p50:,.0f} ms · p95 {p95:,.0f} ms (the last {plural(len(snap.latencies_ms), 'question')})"
    else:
        latency = "no questions yet"
    embed = discord.Embed(title="How I'm doing", colour=COLOUR)
    fields = [
        ("Questions", questions),
        ("Reply time", latency),
        ("Votes", escape(report.votes)),
        ("Articles", f"{plural(report.articles, 'article')}, {plural(report.sentences, 'sentence')}"),
        ("Model", escape(report.model)),
        ("Up for", duration(snap.uptime_s)),
    ]
    if report.shards:
        fields.append(("Shards", report.shards))
    for name, value in fields:
        embed.add_field(name=name, value=clip(value, FIELD_VALUE_LIMIT), inline=False)
    return embed
