"""A documentation page read as a reader sees it, from its markup.

trafilatura is made for news pages: on documentation it cuts paragraphs at the page source's line
breaks, keeps permalink markers ("¶") and reads API signatures and code as sentences. Documentation
generators (Sphinx, MkDocs Material, Docusaurus, AsciiDoc) and hand-written manuals mark up what
each block is, so this reader follows the markup instead:

- a paragraph is one line, its source line breaks read as spaces; h1-h6 are headings (`# `);
- a definition list's term (`<dt>`, an API signature or a command-line option) is written as a term
  line followed by its description's paragraphs as `: ` lines, the definition-list shape sentences.py reads;
- list items are bullets (`- `), table rows whose last cell is prose are a term and its definition,
  other tables (data) are left out;
- `<pre>` is a fenced code block, kept with its line breaks;
- permalink anchors, navigation, sidebars, headers, footers ("Last updated …"), breadcrumbs, tables
  of contents, buttons and one-word admonition titles ("Note") are left out.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from lxml import html

# Containers that hold a page's own text, most specific first: Sphinx's body, MkDocs Material's
# article, Docusaurus's markdown, then the generic HTML5 ones. No match: the whole body.
_MAIN = (
    "//*[@role='main']",
    "//article[contains(concat(' ', @class, ' '), ' md-content__inner ')]",
    "//*[contains(concat(' ', @class, ' '), ' theme-doc-markdown ')]",
    "//main//article",
    "//main",
    "//article",
)
_FURNITURE_TAGS = ("script", "style", "noscript", "template", "svg", "nav", "footer", "aside", "form", "button", "iframe")
# Classes and ids of page furniture across generators: permalinks, sidebars, breadcrumbs, tables of
# contents, "last updated" and "edit this page" footers, previous/next links, Sphinx's "[source]"
# links in API signatures, a code block's file-name
# caption (not a sentence, and it would part the code from the sentence showing it), navigation bars
# ("nav", "global-nav") and comment sections (classes "comments", "respond", Disqus's; not "comment",
# which code highlighters give a code comment, nor the id "comments", which Sphinx gives a section
# titled "Comments"); an element whose role is "navigation" is furniture too.
_FURNITURE = re.compile(
    r"^(headerlink|hash-link|anchorjs-link|anchor-link|md-anchor|permalink|sphinxsidebar\w*|related|sidebar\w*"
    r"|md-sidebar\w*|md-header\w*|md-footer\w*|md-source-file\w*|breadcrumbs?|toc|toctree-wrapper|table-of-contents"
    r"|theme-doc-footer\w*|theme-last-updated|theme-edit-this-page|pagination-nav\w*|theme-doc-toc\w*|footer|copybtn"
    r"|code-block-caption|filename|viewcode-link|viewcode-back"
    r"|linenos|lineno|admonition-title-icon|nav|navbar|navigation|[\w-]*-nav(?:igation)?|nav-[\w-]+"
    r"|comments|comments-[\w-]+|comment-(?:list|form|respond)|respond|disqus[\w-]*)$",
    re.IGNORECASE,
)
_FURNITURE_IDS = re.compile(r"^(footer|toc|sidebar|searchbox|breadcrumbs?|nav|navbar|navigation|[\w-]*-nav(?:igation)?|disqus[\w-]*)$", re.IGNORECASE)
_ADMONITION_TITLE = re.compile(r"admonition-?title|admonitionHeading", re.IGNORECASE)
_PHRASING = frozenset(
    ("a", "abbr", "b", "bdi", "bdo", "cite", "code", "data", "del", "dfn", "em", "i", "ins", "kbd",
     "mark", "q", "s", "samp", "small", "span", "strong", "sub", "sup", "time", "tt", "u", "var")
)
_INLINE_CODE = ("code", "kbd", "samp", "tt")
_VERSION_NOTE = re.compile(r"\b(versionadded|versionchanged|deprecated|versionremoved)\b")
_PERMALINK_MARKS = "¶#🔗§\uf0c1"
_SPACE = re.compile(r"\s+")
_TITLE_SEPARATORS = re.compile(r"\s+[—–|·-]\s+")
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
_BLOCKS = ("p", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "dl", "ul", "ol", "table", "blockquote", "div", "section", "figure")
# A table row is prose when its last cell has at least this many words: a description ("How many pages
# are built at the same time.") rather than a value ("8080", "yes", "3.11+"). Chosen by reading tables of
# options and of data in Sphinx and MkDocs pages; not tuned on a benchmark.
_PROSE_CELL_WORDS = 4


def page_text(root: html.HtmlElement) -> str:
    """The page's text: blocks separated by blank lines, in the shapes sentences.py reads."""
    main = _main(root)
    _drop_furniture(main, site_name(root))
    return "\n\n".join(block for block in _blocks(main) if block.strip())


def page_title(root: html.HtmlElement) -> str | None:
    """The page's own title: the h1 its <title> opens with, else the <title> less the site's name, else the first h1.

    A theme's site header may hold an h1 of its own (the site's name, the same on every page), so
    the first h1 alone would give every page one title.
    """
    title = _title(root)
    site = site_name(root)
    headings = [text for text in (_label(h1) for h1 in root.iter("h1")) if text and not _same(text, site)]
    opening = next((text for text in headings if title.casefold().startswith(text.casefold())), None)
    if opening or site:
        return opening or title[: -len(site)].rstrip(" —–|·-")
    return next(iter(headings), None) or title or None


def site_name(root: html.HtmlElement) -> str | None:
    """The last part of a <title> of several ("Signals — Orchard 1.0 documentation"): generators append the site's name."""
    parts = _TITLE_SEPARATORS.split(_title(root))
    return parts[-1] if len(parts) > 1 else None


def _title(root: html.HtmlElement) -> str:
    return _SPACE.sub(" ", root.findtext(".//title") or "").strip()


def _same(text: str, site: str | None) -> bool:
    """Whether a heading is the site's name rather than a section of the page."""
    return site is not None and text.casefold() == site.casefold()


def _main(root: html.HtmlElement) -> html.HtmlElement:
    for query in _MAIN:
        found = root.xpath(query)
        if found:
            return found[0]
    body = root.find("body")
    return body if body is not None else root


def is_furniture(attributes: Mapping[str, str]) -> bool:
    """Whether an element's class, id or role marks it as page furniture (navigation, footers, comment sections)."""
    return (
        any(_FURNITURE.match(name) for name in attributes.get("class", "").split())
        or bool(_FURNITURE_IDS.match(attributes.get("id", "")))
        or attributes.get("role") == "navigation"
    )


def _drop_furniture(main: html.HtmlElement, site: str | None) -> None:
    """Page furniture out of the tree; and a heading that is the site's name (a theme's header), which no section is."""
    doomed = [
        element
        for element in main.iter()
        if isinstance(element.tag, str)
        and (
            element.tag in _FURNITURE_TAGS
            or is_furniture(element.attrib)
            or (_ADMONITION_TITLE.search(element.get("class", "")) and len(_inline(element).split()) <= 2)
            or (element.tag in _HEADINGS and _same(_label(element), site))
        )
    ]
    for element in doomed:
        parent = element.getparent()
        if parent is not None:
            element.drop_tree()


def _blocks(element: html.HtmlElement) -> Iterator[str]:
    """The blocks inside `element`, in reading order; loose text between blocks is a paragraph of its own."""
    loose: list[str] = [element.text or ""]
    for child in element:
        if not isinstance(child.tag, str):
            loose.append(child.tail or "")
            continue
        if child.tag in _BLOCKS:
            yield _paragraph(loose)
            loose = []
            yield from _block(child)
            loose.append(child.tail or "")
        else:
            loose.append(_loose(child))
    yield _paragraph(loose)


def _loose(element: html.HtmlElement) -> str:
    """An element inside loose text, with the text after it.

    Inline markup (`<code>`, `<a>`) is joined as written, so a comma after a code name stays against
    it ("If True, Django …"); any other element (a `<br>`, a `<header>`) is set apart by spaces.
    """
    text = element.text_content()
    tail = element.tail or ""
    return text + tail if element.tag in _PHRASING else f" {text} {tail}"


def _block(element: html.HtmlElement) -> Iterator[str]:
    tag = element.tag
    if tag in _HEADINGS:
        text = _label(element)
        if text:
            yield f"# {text}"
    elif tag == "p":
        yield _inline(element)
    elif tag == "pre":
        yield _fence(element)
    elif tag == "dl":
        yield from _definitions(element)
    elif tag in ("ul", "ol"):
        for item in element.iterchildren("li"):
            yield from _item(item)
    elif tag == "table":
        yield from _table(element)
    elif _VERSION_NOTE.search(element.get("class", "")):
        yield from _version_note(element)
    else:
        yield from _blocks(element)


def _version_note(note: html.HtmlElement) -> Iterator[str]:
    """A "Changed in version 3.1:" note as text: its label, when a line of its own, opens its first paragraph
    (a label alone would read as a heading, the section of the text after the note)."""
    blocks = [block for block in _blocks(note) if block.strip()]
    if len(blocks) > 1 and blocks[0].endswith(":") and not blocks[1].startswith(("```", "# ", "- ", ": ")):
        blocks[:2] = [f"{blocks[0]} {blocks[1]}"]
    yield from blocks


def _item(item: html.HtmlElement) -> Iterator[str]:
    """A list item as a bullet; its nested blocks (a code example, a sub-list) follow it.

    The bullet is the item's first text, loose or in a `<p>` (Sphinx's `<li><p class="first">`), never
    the empty text before that `<p>`. An item that is nothing but inline code (an error message, a
    command, a name listed under "one of the following messages:") is not prose: it is a code block,
    shown under the sentence that introduces the list and never an answer on its own.
    """
    if _literal(item):
        yield f"```\n{_inline(item).replace('```', 'ˋˋˋ')}\n```"
        return
    first = True
    for block in filter(str.strip, _blocks(item)):
        if first and not block.startswith(("```", "# ", "- ")):
            yield f"- {block}"
        else:
            yield block
        first = False


def _literal(item: html.HtmlElement) -> bool:
    """Whether all of a list item's text is inline code, in no block but paragraphs."""
    if any(isinstance(child.tag, str) and child.tag in _BLOCKS and child.tag != "p" for child in item.iter()):
        return False
    outermost = (e for e in item.iter(*_INLINE_CODE) if not any(a.tag in _INLINE_CODE for a in e.iterancestors()))
    code = "".join(_inline(element) for element in outermost)
    return bool(code) and _SPACE.sub("", code) == _SPACE.sub("", item.text_content())


def _definitions(dl: html.HtmlElement) -> Iterator[str]:
    """Each term with its description: `term` then `: description`, further blocks after it.

    Several terms before one description (`-k`, `--keep-index`) are one term, joined with commas.
    """
    terms: list[str] = []
    for child in dl:
        if child.tag == "dt":
            if term := _label(child):
                terms.append(term)
            continue
        if child.tag != "dd":
            continue
        blocks = [block for block in _blocks(child) if block.strip()]
        prose = bool(blocks) and not blocks[0].startswith(("```", "# ", "- "))
        if terms:
            # A term whose description opens with code or a list is the heading over them, never a sentence.
            yield ", ".join(terms) if prose else f"# {', '.join(terms)}"
            terms = []
        # Every paragraph of the description is about the term: each is a `: ` line, searched with it.
        # Code, headings, bullets and a nested list's own terms and definitions stay as they are.
        for number, block in enumerate(blocks):
            nested_term = number + 1 < len(blocks) and blocks[number + 1].startswith(": ")
            yield block if nested_term or block.startswith(("```", "# ", "- ", ": ")) else f": {block}"
    if terms:
        yield f"# {', '.join(terms)}"


def _table(table: html.HtmlElement) -> Iterator[str]:
    """Rows whose last cell is prose, as term and definition; a table of data says nothing in sentences."""
    for row in table.iter("tr"):
        cells = [_inline(cell) for cell in row if cell.tag in ("td", "th")]
        if row.find("th") is not None and row.find("td") is None:
            continue  # a header row
        if len(cells) >= 2 and len(cells[-1].split()) >= _PROSE_CELL_WORDS:
            yield " — ".join(cells[:-1])
            yield f": {cells[-1]}"
        elif len(cells) == 1 and len(cells[0].split()) >= _PROSE_CELL_WORDS:
            yield cells[0]


def _fence(pre: html.HtmlElement) -> str:
    for br in pre.iter("br"):
        br.tail = "\n" + (br.tail or "")
    code = pre.text_content().strip("\n")
    lines = [line.rstrip() for line in code.split("\n")]
    return "```\n" + "\n".join(lines).replace("```", "ˋˋˋ") + "\n```"


def _paragraph(pieces: list[str]) -> str:
    return _SPACE.sub(" ", "".join(pieces)).strip()


def _inline(element: html.HtmlElement) -> str:
    return _SPACE.sub(" ", element.text_content()).strip()


def _label(element: html.HtmlElement) -> str:
    """A heading's or term's text without a permalink mark left at its end by an anchor with no class."""
    return _inline(element).rstrip(_PERMALINK_MARKS).rstrip()
