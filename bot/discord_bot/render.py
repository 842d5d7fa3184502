"""Turn answers, articles and help into Discord embeds or plain text that always fit Discord's limits.

Pure functions: no network, no bot. Every length is measured in UTF-16 code units, which is
never less than what Discord counts, so a result that fits here fits there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import discord

from bot.search.corpus import Article
from bot.search.engine import Answer, Hit, Sentence

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
COLOUR = discord.Colour.blurple()

# Characters that are markdown anywhere in a line (emphasis, code, spoilers, masked links, mentions);
# a backslash before one shows it literally. Bare URLs are wrapped in <> instead, which keeps them
# clickable and stops link previews.
_MARKDOWN = re.compile(r"(https?://[^\s<>()\[\]]*[^\s<>()\[\].,:;\"'])|([\\*_~`|\[\]<])")
# Characters that are markdown only at the start of a line: quotes, headings, lists.
_LINE_START = re.compile(r"^([>#-])")
_MENTION = re.compile(r"@(everyone|here)")
# Invisible formatting characters in article or question text: bidirectional embeddings, overrides and
# isolates (an RLO reverses the rest of a quoted line), directional marks, zero-width spaces, word
# joiners and BOMs. They are dropped when rendering. ZWJ and ZWNJ stay: scripts such as Persian and
# Hindi, and emoji sequences, need them, and they cannot reorder text. (The "@\u200beveryone" that
# `_escape_inline` writes itself is added after this.)
_INVISIBLE = re.compile("[\u061c\u200b\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]+")


def units(text: str) -> int:
    """Length as Discord may count it (UTF-16 code units)."""
    return len(text.encode("utf-16-le")) // 2


def clip(text: str, limit: int, ellipsis: str = "…") -> str:
    """`text` cut to at most `limit` units, at a word boundary when one is near, marked with an ellipsis."""
    if units(text) <= limit:
        return text
    keep = max(0, limit - units(ellipsis))
    cut = text[:keep]
    while units(cut) > keep:
        cut = cut[:-1]
    space = cut.rfind(" ")
    if space > keep - 20 and space > 0:
        cut = cut[:space]
    return cut.rstrip() + ellipsis


def escape(text: str) -> str:
    """Show corpus or user text literally: no markdown, no mention pings, no masked links, no bidi tricks, one line."""
    return _escape_inline(_flat(text), at_start=True)


def _flat(text: str) -> str:
    """`text` on one line, single-spaced, without invisible formatting characters (see _INVISIBLE)."""
    if not text.isascii():  # the common case skips the scan: none of them is ASCII
        text = _INVISIBLE.sub("", text)
    return " ".join(text.split())


def _escape_inline(text: str, *, at_start: bool = False) -> str:
    def replace(match: re.Match[str]) -> str:
        return f"<{match.group(1)}>" if match.group(1) else "\\" + match.group(2)

    escaped = _MENTION.sub("@\u200b\\1", _MARKDOWN.sub(replace, text))
    return _LINE_START.sub(r"\\\1", escaped) if at_start else escaped


def highlight(text: str, matched: Iterable[str]) -> str:
    """`text` escaped, with each whole-word occurrence of a matched word in bold."""
    words = sorted({flat_word for w in matched if (flat_word := _flat(w))}, key=len, reverse=True)
    flat = _flat(text)
    if not words:
        return _escape_inline(flat, at_start=True)
    pattern = re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, words)) + r")(?!\w)", re.IGNORECASE)
    parts: list[str] = []
    last = 0
    for match in pattern.finditer(flat):
        parts.append(_escape_inline(flat[last : match.start()], at_start=last == 0))
        parts.append(f"**{_escape_inline(match.group())}**")
        last = match.end()
    parts.append(_escape_inline(flat[last:], at_start=last == 0))
    return "".join(parts)


def safe_url(url: str | None) -> str | None:
    """An http(s) URL safe inside a markdown link, or None when there is none."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        return None
    cleaned = quote(url.strip(), safe=":/?#@!$&'*+,;=%~-._")
    return cleaned if len(cleaned) <= 512 else None


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
    text = _flat(hit.text)
    quoted = highlight(text, hit.matched)
    cut = len(text)
    while units(quoted) > room and cut > 0:
        cut = max(0, cut - max(1, units(quoted) - room))
        quoted = highlight(text[:cut].rstrip() + "…", hit.matched) if cut else "…"
    return f"**{rank}.** “{quoted}”\n{source}"


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


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def answer_embed(answer: Answer, *, article_count: int) -> discord.Embed:
    """The answer as an embed: numbered quoted sentences with their articles, search time below."""
    title = clip(escape(answer.question), TITLE_LIMIT) or "Answer"
    foot = clip(footer(answer, article_count), FOOTER_LIMIT)
    budget = min(DESCRIPTION_LIMIT, EMBED_TOTAL_LIMIT - units(title) - units(foot))
    description = "\n\n".join(_blocks(answer.hits, budget, links=True))
    embed = discord.Embed(title=title, description=description, colour=COLOUR)
    embed.set_footer(text=foot)
    return embed


def answer_text(answer: Answer, *, article_count: int) -> str:
    """The answer as plain text, for channels where the bot may not embed links."""
    header = f"**{clip(escape(answer.question), 300)}**"
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


def help_embed(entries: Sequence[CommandHelp], *, prefix: str, bot_name: str) -> discord.Embed:
    """What the bot does and every command with an example."""
    intro = (
        f"Ask me about the articles I know. Use `{prefix}ask`, `/ask`, mention me "
        f"(`@{escape(bot_name)} your question`), reply to one of my answers, or just write to me in a DM."
    )
    embed = discord.Embed(title="How to ask me", description=intro, colour=COLOUR)
    for entry in entries[:HELP_ENTRIES]:
        embed.add_field(
            name=clip(entry.usage, 80),
            value=clip(f"{entry.summary}\nExample: `{entry.example}`", 300),
            inline=False,
        )
    return embed
