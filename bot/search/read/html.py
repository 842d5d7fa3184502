"""A saved web page's article: its main text and what the page says about it, read by trafilatura.

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

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from trafilatura.settings import Document

HTML_SUFFIXES = (".html", ".htm")


class PageError(ValueError):
    """The page holds no article text that could be found; the message says so in a user's words."""


def read_page(data: bytes) -> tuple[str, dict[str, str]]:
    """The article's text (one paragraph, heading or list item a line) and its metadata.

    The metadata uses the corpus's field names: title, author, publisher (the site's name, else
    its host name), url and date (YYYY-MM-DD); fields the page does not give are absent.
    """
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
    return text, {name: value.strip() for name, value in found.items() if isinstance(value, str) and value.strip()}


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
