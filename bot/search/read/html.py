"""A saved web page's article: its main text and what the page says about it.

A documentation page (see `is_documentation`) is read from its markup by docs.py, its metadata only
from its meta tags. Any other page, a news article or a blog post, is read by trafilatura:

trafilatura finds the article among the navigation, comments, share widgets and "related" teasers,
and reads the title, author, date, URL and site name from the page's meta tags, structured data
and byline. It gets the file's bytes only (it detects the page's encoding), never a URL, so it
fetches nothing. It is asked to favour precision, since a quoted menu line is a worse answer than
a missed paragraph, and to take a date only from where pages state one, not from any date in the
text ("© 2024" is no publication date). Tables are left out: their rows are not sentences.

It is imported on first use: the import takes about 0.4 s, which a corpus without web pages, or
a saved index, should not pay.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, NamedTuple

from lxml import etree
from lxml import html as lxml_html

from bot.search.read.docs import page_text, page_title

if TYPE_CHECKING:
    from trafilatura.settings import Document

HTML_SUFFIXES = (".html", ".htm")
_DOCS_GENERATORS = re.compile(
    r"sphinx|mkdocs|docusaurus|asciidoc|docfx|pdoc|doxygen|vuepress|vitepress|mdbook|gitbook|rustdoc|javadoc|texinfo",
    re.IGNORECASE,
)
_DOCS_MARKERS = "//*[contains(concat(' ', @class, ' '), ' headerlink ') or contains(concat(' ', @class, ' '), ' hash-link ')]"
_ARTICLE_META = "//meta[@property='og:type' and @content='article'] | //meta[@property='article:published_time']"
_ISO_DATE = re.compile(r"^(\d{4}-\d{2}-\d{2})")
_META = {
    "author": ("//meta[@name='author']/@content",),
    "publisher": ("//meta[@property='og:site_name']/@content", "//meta[@name='application-name']/@content"),
    "url": ("//link[@rel='canonical']/@href", "//meta[@property='og:url']/@content"),
    "date": (
        "//meta[@property='article:published_time']/@content",
        "//meta[@name='date' or @name='DC.date' or @name='dc.date' or @name='dcterms.date' or @name='DC.date.issued']/@content",
    ),
}


class PageError(ValueError):
    """The page holds no article text that could be found; the message says so in a user's words."""


class Page(NamedTuple):
    """A page's article text (one paragraph, heading or list item a line) and its metadata.

    The metadata uses the corpus's field names: title, author, publisher (the site's name, else
    its host name), url and date (YYYY-MM-DD); fields the page does not give are absent.
    `from_markup` says the text was read from a documentation page's markup, which already left
    out its furniture (navigation, forms, comment sections): a "Comments" heading in it is a section.
    """

    text: str
    fields: dict[str, str]
    from_markup: bool = False


def read_page(data: bytes) -> Page:
    """The page's article text and metadata, read by docs.py or trafilatura."""
    root = _parse(data)
    if root is not None and is_documentation(root):
        return _read_documentation(root)
    try:
        document = _extract(data)
    except Exception as error:  # a third-party parser on any file found on disk: one odd page must not stop the load
        raise PageError(f"the page could not be parsed ({type(error).__name__} in trafilatura)") from error
    text = getattr(document, "text", None) or ""
    if not text.strip():
        raise PageError("no article text found in the page (only navigation, comments or other page furniture)")
    found = {
        "title": document.title,
        "author": document.author,
        "publisher": document.sitename or document.hostname,
        "url": document.url,
        "date": document.date,
    }
    return Page(text, {name: value.strip() for name, value in found.items() if isinstance(value, str) and value.strip()})


def is_documentation(root: lxml_html.HtmlElement) -> bool:
    """A page a documentation generator made, or a hand-written manual: code blocks or definition lists, no article metadata."""
    generator = " ".join(root.xpath("//meta[@name='generator']/@content"))
    if _DOCS_GENERATORS.search(generator) or root.xpath(_DOCS_MARKERS):
        return True
    return bool(root.xpath("//body//pre | //body//dl")) and not root.xpath(_ARTICLE_META)


def _read_documentation(root: lxml_html.HtmlElement) -> Page:
    title = page_title(root)
    text = page_text(root)
    if not text.strip():
        raise PageError("no text found in the documentation page (only navigation or page furniture)")
    found = {"title": title, **{name: _first(root, queries) for name, queries in _META.items()}}
    if found["date"]:
        date = _ISO_DATE.match(found["date"].strip())
        found["date"] = date.group(1) if date else None
    return Page(text, {name: value.strip() for name, value in found.items() if isinstance(value, str) and value.strip()}, from_markup=True)


def _first(root: lxml_html.HtmlElement, queries: tuple[str, ...]) -> str | None:
    for query in queries:
        for value in root.xpath(query):
            if str(value).strip():
                return str(value)
    return None


def _parse(data: bytes) -> lxml_html.HtmlElement | None:
    """The page's tree: UTF-8 when it decodes as such (libxml2 would guess Latin-1 for a page declaring nothing)."""
    try:
        data.decode("utf-8")
        parser = lxml_html.HTMLParser(encoding="utf-8")
    except UnicodeDecodeError:
        parser = None
    try:
        return lxml_html.document_fromstring(data, parser=parser)
    except (etree.ParserError, ValueError):
        return None


def _extract(data: bytes) -> Document | None:
    from trafilatura import bare_extraction

    return bare_extraction(
        data,
        favor_precision=True,
        date_extraction_params={"original_date": True, "extensive_search": False},
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        include_images=False,
        include_links=False,
        include_formatting=False,
    )
