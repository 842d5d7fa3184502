"""Documentation sites as corpora: folders read as sites, and pages read as a reader sees them.

The pages are small and made up, each in the markup its generator writes: Sphinx, MkDocs Material,
Docusaurus, AsciiDoc (git's manual) and a hand-written page.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from reading import load_folder

from bot.search.engine import Engine, SearchSettings
from bot.search.read.sentences import Kind, split_passages
from bot.search.read import splitting
from bot.search.read.splitting import split_documents

SPHINX_PAGE = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="generator" content="Docutils 0.19: https://docutils.sourceforge.io/">
<title>socket — Low-level networking interface — Orchard 1.0 documentation</title></head>
<body>
<div class="related" role="navigation"><ul><li><a href="index.html">Orchard 1.0 documentation</a> »</li></ul></div>
<div class="document"><div class="body" role="main">
<section id="socket">
<h1>socket — Low-level networking interface<a class="headerlink" href="#socket" title="Permalink">¶</a></h1>
<p>This module provides access to the BSD socket interface. It is available on
all modern Unix systems, Windows and MacOS, and
the method tests whether the socket is still
open before every read.</p>
<dl class="py function">
<dt class="sig sig-object py" id="socket.setdefaulttimeout">
<span class="sig-prename">socket.</span><span class="sig-name">setdefaulttimeout</span>(<em>timeout</em>)<a class="headerlink" href="#socket.setdefaulttimeout">¶</a></dt>
<dd><p>Set the default timeout in seconds (float) for new socket objects. When the socket module is
first imported, the default is None.</p></dd>
</dl>
<p>To read the timeout back, call the getter as in this example:</p>
<div class="highlight-python3 notranslate"><div class="highlight"><pre><span></span><span class="kn">import</span> socket
<span class="nb">print</span>(socket.getdefaulttimeout())
</pre></div></div>
<div class="admonition note"><p class="admonition-title">Note</p>
<p>Timeouts apply to every blocking call made on the socket.</p></div>
</section>
</div></div>
<div class="sphinxsidebar" role="navigation"><h3>Navigation</h3><ul><li>Next topic</li></ul></div>
<div class="footer">© Copyright 2024. Last updated on Jun 01, 2024.</div>
</body></html>
"""

MKDOCS_PAGE = """\
<!doctype html><html><head><meta name="generator" content="mkdocs-1.5.3, mkdocs-material-9.5.2">
<title>Caching - Orchard Docs</title></head><body>
<header class="md-header"><nav>Orchard Docs <a href="/">Home</a></nav></header>
<div class="md-sidebar md-sidebar--primary"><nav class="md-nav">Getting started Caching Deploying</nav></div>
<main class="md-main"><div class="md-content"><article class="md-content__inner md-typeset">
<h1 id="caching">Caching<a class="headerlink" href="#caching" title="Permanent link">¶</a></h1>
<p>The cache keeps every built page for one hour, so a second visit
is served from memory.</p>
<div class="admonition warning"><p class="admonition-title">Warning</p>
<p>Clearing the cache rebuilds every page on the next visit.</p></div>
<ul><li>Pages are cached by their path and their language.</li><li>Images are never cached.</li></ul>
<aside class="md-source-file">Last update: June 1, 2024</aside>
</article></div></main>
<footer class="md-footer">Made with Material for MkDocs</footer>
</body></html>
"""

DOCUSAURUS_PAGE = """\
<!doctype html><html><head><meta name="generator" content="Docusaurus v3.1.0">
<title>Scheduling jobs | Orchard</title></head><body>
<nav class="navbar">Orchard Docs Blog GitHub</nav>
<div class="main-wrapper"><aside class="theme-doc-sidebar-container">Intro Scheduling Deploying</aside>
<main><div class="container"><article>
<nav class="theme-doc-breadcrumbs">Home › Scheduling</nav>
<div class="theme-doc-markdown markdown"><header><h1>Scheduling jobs</h1></header>
<h2 id="cron">Cron syntax<a href="#cron" class="hash-link" aria-label="Direct link to Cron syntax">​</a></h2>
<p>A job runs at the times its cron expression gives, in the server's time zone.</p>
<p>Schedule a nightly job like this:</p>
<div class="codeBlockContainer"><pre class="prism-code"><code><span class="token-line">orchard schedule --cron "0 2 * * *" backup</span><br><span class="token-line">orchard jobs list</span></code></pre>
<button class="copyButton">Copy</button></div>
</div>
<footer class="theme-doc-footer"><a class="theme-edit-this-page">Edit this page</a>
<span class="theme-last-updated">Last updated on Jun 1, 2024</span></footer>
</article></div></main></div>
</body></html>
"""

ASCIIDOC_PAGE = """\
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE html><html><head><meta name="generator" content="AsciiDoc 10.2.0" /><title>orchard-prune(1)</title></head>
<body class="manpage"><div id="header"><h1>orchard-prune(1) Manual Page</h1></div>
<div id="content"><div class="sect1"><h2 id="_options">OPTIONS</h2><div class="sectionbody">
<div class="dlist"><dl>
<dt class="hdlist1">-n</dt>
<dt class="hdlist1">--dry-run</dt>
<dd><p>
        Do not remove anything; just report what
        would be removed – nothing is touched.
</p></dd>
</dl></div></div></div></div>
<div id="footer"><div id="footer-text">Last updated 2024-06-01 10:00:00 UTC</div></div>
</body></html>
"""

HAND_WRITTEN_PAGE = """\
<html><head><title>Orchard manual</title><meta name="author" content="Jane Doe"></head><body>
<h1>Orchard manual</h1>
<p>Orchard stores its settings in a single file
called orchard.toml.</p>
<table><tr><th>Setting</th><th>Meaning</th></tr>
<tr><td>workers</td><td>How many pages are built at the same time.</td></tr>
<tr><td>port</td><td>8080</td></tr></table>
<pre>workers = 4</pre>
</body></html>
"""

# A Sphinx theme without role="main", <main> or <article> (Django's, and other classic themes): a site
# header with the site's name as an h1 and navigation links above the page's own text.
HEADER_THEME_PAGE = """\
<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Caching &#8212; Orchard 2.0 documentation</title></head>
<body><div class="document">
<div id="hd"><h1><a href="../index.html">Orchard 2.0 documentation</a></h1>
<div id="global-nav"><a href="../index.html">Home</a> | <a href="../contents.html">Table of contents</a></div>
<div class="nav">&laquo; <a href="a.html">previous</a> | <a href="index.html">up</a> | <a href="b.html">next</a> &raquo;</div></div>
<div id="bd"><div class="section" id="caching">
<h1>Caching<a class="headerlink" href="#caching">¶</a></h1>
<p>The cache keeps every built page for one hour.</p>
</div></div>
<div id="ft"><div class="nav">&laquo; <a href="a.html">previous</a> | <a href="b.html">next</a> &raquo;</div></div>
</div></body></html>
"""


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def document(folder: Path, name: str, page: str):
    (loaded,) = load_folder(write(folder, {name: page})).documents
    return loaded


def passages(text: str) -> list[tuple[Kind, str]]:
    return [(passage.kind, passage.text) for passage in split_passages(text)]


# --- folders as sites ---------------------------------------------------------------------


def test_pages_in_subfolders_are_read_and_named_by_their_path_in_the_corpus(tmp_path: Path) -> None:
    write(tmp_path, {"index.html": SPHINX_PAGE, "library/socket.html": SPHINX_PAGE, "howto/deep/cache.html": MKDOCS_PAGE})
    files = [loaded.file for loaded in load_folder(tmp_path).documents]
    assert files == ["howto/deep/cache.html", "index.html", "library/socket.html"]


def test_generated_pages_and_ignored_paths_are_skipped_and_counted(tmp_path: Path) -> None:
    write(tmp_path, {
        "index.html": SPHINX_PAGE, "search.html": SPHINX_PAGE, "genindex.html": SPHINX_PAGE,
        "py-modindex.html": SPHINX_PAGE, "_static/basic.html": SPHINX_PAGE, "_sources/index.rst.txt": "Sources.",
        "whatsnew/3.11.html": SPHINX_PAGE, "changelog.html": SPHINX_PAGE,
    })
    load = load_folder(tmp_path, ignore=("whatsnew/*", "changelog.html"))
    assert [loaded.file for loaded in load.documents] == ["index.html"]
    (note,) = [warning for warning in load.warnings if "skipped" in warning]
    assert "skipped 5 generated pages or assets (_sources, _static, genindex.html, …)" in note
    assert "2 files matching CORPUS_IGNORE (changelog.html, whatsnew/3.11.html)" in note


def test_the_ignore_setting_is_part_of_the_saved_index_s_fingerprint(tmp_path: Path) -> None:
    corpus = write(tmp_path / "corpus", {"a.html": SPHINX_PAGE, "b.html": MKDOCS_PAGE})
    Engine.from_dir(corpus, cache_dir=tmp_path / "cache")
    narrowed = Engine.from_dir(corpus, settings=SearchSettings(ignore=("b.html",)), cache_dir=tmp_path / "cache")
    assert [article.file for article in narrowed.sources()] == ["a.html"]


# --- pages read as a reader sees them ----------------------------------------------------


def test_sphinx_a_line_broken_paragraph_is_one_paragraph_and_permalinks_are_gone(tmp_path: Path) -> None:
    page = document(tmp_path, "socket.html", SPHINX_PAGE)
    assert page.metadata.title == "socket — Low-level networking interface"
    assert page.metadata.date is None and page.metadata.publisher is None  # no metadata: nothing guessed
    read = passages(page.text)
    assert (Kind.TEXT, "It is available on all modern Unix systems, Windows and MacOS, and the method tests "
            "whether the socket is still open before every read.") in read
    assert "¶" not in page.text and "Navigation" not in page.text and "Last updated" not in page.text


def test_sphinx_a_signature_is_the_heading_of_its_description_never_an_answer(tmp_path: Path) -> None:
    read = split_passages(document(tmp_path, "socket.html", SPHINX_PAGE).text)
    signature = next(p for p in read if p.kind is Kind.TERM)
    description = read[read.index(signature) + 1]
    assert signature.text == "socket.setdefaulttimeout(timeout)"
    assert not signature.kind.answers
    assert (description.text, description.kind, description.prompt) == (
        "Set the default timeout in seconds (float) for new socket objects.", Kind.ANSWER, signature.text)


def test_sphinx_a_code_example_belongs_to_the_sentence_introducing_it(tmp_path: Path) -> None:
    engine = Engine.from_dir(write(tmp_path, {"socket.html": SPHINX_PAGE}))
    hit = engine.ask("how do I read the timeout back?").hits[0]
    assert hit.text == "To read the timeout back, call the getter as in this example:"
    assert hit.code == "import socket\nprint(socket.getdefaulttimeout())"
    assert all("print(" not in h.text for h in engine.ask("socket.getdefaulttimeout print").hits)


def test_sphinx_admonition_title_is_not_text_but_its_body_is(tmp_path: Path) -> None:
    read = passages(document(tmp_path, "socket.html", SPHINX_PAGE).text)
    assert (Kind.TEXT, "Timeouts apply to every blocking call made on the socket.") in read
    assert all(text != "Note" for _, text in read)


def test_mkdocs_material_page_without_its_header_sidebar_and_last_update(tmp_path: Path) -> None:
    page = document(tmp_path, "caching.html", MKDOCS_PAGE)
    assert page.metadata.title == "Caching"
    assert passages(page.text) == [
        (Kind.HEADING, "Caching"),
        (Kind.TEXT, "The cache keeps every built page for one hour, so a second visit is served from memory."),
        (Kind.TEXT, "Clearing the cache rebuilds every page on the next visit."),
        (Kind.BULLET, "Pages are cached by their path and their language."),
        (Kind.BULLET, "Images are never cached."),
    ]


def test_docusaurus_code_lines_and_the_sentence_before_them(tmp_path: Path) -> None:
    page = document(tmp_path, "scheduling.html", DOCUSAURUS_PAGE)
    assert page.metadata.title == "Scheduling jobs"
    read = passages(page.text)
    assert read[:3] == [
        (Kind.HEADING, "Scheduling jobs"),
        (Kind.HEADING, "Cron syntax"),
        (Kind.TEXT, "A job runs at the times its cron expression gives, in the server's time zone."),
    ]
    assert read[3:] == [
        (Kind.TEXT, "Schedule a nightly job like this:"),
        (Kind.CODE, 'orchard schedule --cron "0 2 * * *" backup\norchard jobs list'),
    ]


def test_asciidoc_with_an_xml_declaration_option_list_several_terms_one_description_and_no_footer(tmp_path: Path) -> None:
    page = document(tmp_path, "orchard-prune.html", ASCIIDOC_PAGE)
    read = passages(page.text)
    assert (Kind.TERM, "-n, --dry-run") in read
    assert (Kind.ANSWER, "Do not remove anything; just report what would be removed – nothing is touched.") in read
    assert page.metadata.date is None  # "Last updated" is a footer, not a publication date


def test_hand_written_page_prose_table_rows_read_data_rows_left_out(tmp_path: Path) -> None:
    page = document(tmp_path, "manual.html", HAND_WRITTEN_PAGE)
    assert page.metadata.author == "Jane Doe"
    read = passages(page.text)
    assert (Kind.TERM, "workers") in read
    assert (Kind.ANSWER, "How many pages are built at the same time.") in read
    assert "8080" not in page.text
    assert read[-1] == (Kind.CODE, "workers = 4")


def test_a_site_header_s_h1_is_neither_the_page_s_title_nor_a_heading_of_its_text(tmp_path: Path) -> None:
    page = document(tmp_path, "caching.html", HEADER_THEME_PAGE)
    assert page.metadata.title == "Caching"
    assert "Orchard 2.0 documentation" not in page.text


def test_without_a_matching_h1_the_title_is_the_title_tag_less_the_site_name(tmp_path: Path) -> None:
    page = document(tmp_path, "caching.html", HEADER_THEME_PAGE.replace("<h1>Caching", "<h1>Keeping pages"))
    assert page.metadata.title == "Caching"


def test_inline_code_in_bare_list_and_definition_text_keeps_its_punctuation_against_it(tmp_path: Path) -> None:
    body = (
        '<ul><li>If <code class="literal"><span class="pre">True</span></code>, the cache is shared by every worker.</li></ul>'
        '<dl><dt>handler404</dt><dd>See <a href="x.html"><code>orchard.handlers.not_found</code></a>.</dd></dl>'
    )
    page = document(tmp_path, "caching.html", HEADER_THEME_PAGE.replace("<p>The cache", body + "<p>The cache"))
    read = passages(page.text)
    assert (Kind.BULLET, "If True, the cache is shared by every worker.") in read
    assert (Kind.ANSWER, "See orchard.handlers.not_found.") in read


def test_navigation_bars_by_class_id_or_role_are_not_text(tmp_path: Path) -> None:
    page = HEADER_THEME_PAGE.replace("<p>The cache", '<div role="navigation"><p>Contents: Caching, Deploying</p></div><p>The cache')
    read = passages(document(tmp_path, "caching.html", page).text)
    assert read == [(Kind.HEADING, "Caching"), (Kind.TEXT, "The cache keeps every built page for one hour.")]


def test_a_documentation_section_titled_comments_is_text_not_a_comment_form(tmp_path: Path) -> None:
    section = (
        '<section id="comments"><h2>Comments</h2><p>A template comment is written between {# and #}.</p></section>'
        "<h2>Inheritance</h2><p>A child template extends its parent with the extends tag.</p>"
    )
    read = passages(document(tmp_path, "templates.html", HEADER_THEME_PAGE.replace("</div></div>\n<div id=\"ft\">", section + "</div></div>\n<div id=\"ft\">")).text)
    assert read[-4:] == [
        (Kind.HEADING, "Comments"),
        (Kind.TEXT, "A template comment is written between {# and #}."),
        (Kind.HEADING, "Inheritance"),
        (Kind.TEXT, "A child template extends its parent with the extends tag."),
    ]


def test_a_real_comment_section_of_a_documentation_page_is_left_out(tmp_path: Path) -> None:
    comments = '<div class="comments"><h2>3 Comments</h2><p>Bob: this page saved my day!</p><form><textarea></textarea></form></div>'
    page = document(tmp_path, "caching.html", HEADER_THEME_PAGE.replace("</div></div>\n<div id=\"ft\">", comments + "</div></div>\n<div id=\"ft\">"))
    assert "Bob" not in page.text and page.text.endswith("The cache keeps every built page for one hour.")


def passages_with(tmp_path: Path, markup: str) -> list[tuple[Kind, str]]:
    """The passages of a caching page with `markup` before its paragraph on the cache (the page's second passage on)."""
    return passages(document(tmp_path, "caching.html", HEADER_THEME_PAGE.replace("<p>The cache", markup + "<p>The cache")).text)


def test_a_list_item_whose_text_is_in_paragraphs_is_one_bullet_not_an_empty_one(tmp_path: Path) -> None:
    items = (
        '<ul>\n<li><p class="first">TIMEOUT: the default timeout, in seconds.</p>\n</li>\n'
        '<li><p class="first"><code>orchard.signals.page_built</code></p>\n<p>Sent when a page is built.</p>\n</li>\n</ul>'
    )
    read = passages_with(tmp_path, items)
    assert read[1:4] == [
        (Kind.BULLET, "TIMEOUT: the default timeout, in seconds."),
        (Kind.FRAGMENT, "orchard.signals.page_built"),  # a bare name: see the fragment tests
        (Kind.TEXT, "Sent when a page is built."),
    ]


def test_a_list_item_of_inline_code_alone_is_code_shown_under_the_sentence_introducing_the_list(tmp_path: Path) -> None:
    items = (
        "<p>When the port is taken, the server stops with one of these messages:</p>\n<ul>\n"
        '<li><p><code class="literal"><span class="pre">OSError:</span> <span class="pre">[Errno</span> <span class="pre">98]</span> '
        '<span class="pre">Address</span> <span class="pre">already</span> <span class="pre">in</span> <span class="pre">use</span></code></p></li>\n'
        "<li><kbd>Ctrl</kbd>+<kbd>C</kbd> is not it</li>\n</ul>"
    )
    read = passages_with(tmp_path, items)
    assert read[1:4] == [
        (Kind.TEXT, "When the port is taken, the server stops with one of these messages:"),
        (Kind.CODE, "OSError: [Errno 98] Address already in use"),
        (Kind.BULLET, "Ctrl+C is not it"),  # words besides the code: prose, a bullet as before
    ]


def test_a_sentence_introducing_an_api_signature_is_an_answer_like_one_introducing_code(tmp_path: Path) -> None:
    entry = (
        "<p>Orchard provides the on_built() function to register callbacks run after a page is built:</p>"
        '<dl class="py function"><dt class="sig sig-object py">on_built(func)</dt><dd><p>Registers func.</p></dd></dl>'
    )
    read = passages_with(tmp_path, entry)
    assert read[1:3] == [
        (Kind.TEXT, "Orchard provides the on_built() function to register callbacks run after a page is built:"),
        (Kind.TERM, "on_built(func)"),
    ]


def test_a_source_link_is_not_part_of_a_signature_and_a_version_note_is_text_not_a_heading(tmp_path: Path) -> None:
    entry = (
        '<dl class="py function"><dt class="sig sig-object py">on_built(func)<a href="_modules/orchard.html">'
        '<span class="viewcode-link"><span class="pre">[source]</span></span></a></dt>'
        '<dd><p>Registers func.</p><div class="versionchanged"><span class="title">Changed in Orchard 2.0:</span> '
        "<p>The func argument may be a coroutine.</p></div></dd></dl>"
    )
    read = passages_with(tmp_path, entry)
    assert read[1:4] == [
        (Kind.TERM, "on_built(func)"),
        (Kind.ANSWER, "Registers func."),
        (Kind.ANSWER, "Changed in Orchard 2.0: The func argument may be a coroutine."),
    ]


# --- Markdown ------------------------------------------------------------------------------


def test_markdown_fenced_code_and_admonitions_read_like_html() -> None:
    text = "# Setup\n\nInstall it with pip, as in this example:\n\n```bash\n  pip install orchard\n```\n\n!!! tip\n    Use a virtual environment for every project.\n"
    assert passages(text) == [
        (Kind.HEADING, "Setup"),
        (Kind.TEXT, "Install it with pip, as in this example:"),
        (Kind.CODE, "  pip install orchard"),
        (Kind.TEXT, "Use a virtual environment for every project."),
    ]


def test_an_admonition_marker_left_in_a_page_is_dropped_and_its_text_kept(tmp_path: Path) -> None:
    # A site built without the admonition extension prints the marker into the paragraph it opens.
    page = '<html><head><meta name="generator" content="mkdocs-1.4.2"><title>Options</title></head><body><h1>Options</h1>\n' \
        '<p>!!! tip\n    Declare the long and the short name of the option together.</p>\n' \
        '<p>!!! note "Defaults"\n    A flag is off unless it is given.</p>\n<p>!!! warning</p>\n</body></html>'
    assert passages(document(tmp_path, "options.html", page).text) == [
        (Kind.HEADING, "Options"),
        (Kind.TEXT, "Declare the long and the short name of the option together."),
        (Kind.TEXT, "A flag is off unless it is given."),
    ]


def test_markdown_attribute_lists_are_markup_not_words() -> None:
    text = "## Install { #install }\n\nSee [the guide](guide.md){.internal-link target=_blank} first.\n\nA set {a=1} stays, and so does `{.x}` in code."
    assert passages(text) == [
        (Kind.HEADING, "Install"),
        (Kind.TEXT, "See [the guide](guide.md) first."),
        (Kind.TEXT, "A set {a=1} stays, and so does `{.x}` in code."),
    ]


def test_every_paragraph_of_a_description_is_searched_with_its_term() -> None:
    text = "--keep-index\n: This option is only valid for push.\n: All changes already added to the index are left intact.\n\nUnrelated text follows here."
    read = split_passages(text)
    assert [(p.kind, p.prompt) for p in read] == [
        (Kind.TERM, ""), (Kind.ANSWER, "--keep-index"), (Kind.ANSWER, "--keep-index"), (Kind.TEXT, ""),
    ]

def test_a_bare_name_or_label_is_no_answer_but_a_short_sentence_is() -> None:
    text = "Hashers\n\n- pbkdf2_sha256\n- host: EMAIL_HOST\n- Indexes.\n\nHe declined. That is all.\n\nOptional."
    assert passages(text) == [
        (Kind.HEADING, "Hashers"),
        (Kind.FRAGMENT, "pbkdf2_sha256"),
        (Kind.FRAGMENT, "host: EMAIL_HOST"),
        (Kind.FRAGMENT, "Indexes."),
        (Kind.TEXT, "He declined."),
        (Kind.TEXT, "That is all."),
        (Kind.FRAGMENT, "Optional."),
    ]
    assert not Kind.FRAGMENT.answers


def test_an_answer_read_with_its_term_or_question_may_be_one_word() -> None:
    assert passages("Q: Is it free?\nA: Yes.\n\n--dry-run\n: Optional.") == [
        (Kind.QUESTION, "Is it free?"), (Kind.ANSWER, "Yes."), (Kind.TERM, "--dry-run"), (Kind.ANSWER, "Optional."),
    ]



def test_a_fragment_before_code_is_no_answer_but_a_sentence_introducing_it_is() -> None:
    text = "git push uses\n\n```\nrefs/heads/*\n```\n\nIf that version works correctly, type\n\n```\ngit bisect good\n```"
    assert passages(text) == [
        (Kind.LEAD_IN, "git push uses"),
        (Kind.CODE, "refs/heads/*"),
        (Kind.TEXT, "If that version works correctly, type"),
        (Kind.CODE, "git bisect good"),
    ]


def test_a_definition_list_nested_in_a_description_keeps_its_own_terms(tmp_path: Path) -> None:
    page = ASCIIDOC_PAGE.replace(
        "<dd><p>",
        "<dd><p>The mode must be one of the following:</p><dl><dt>--soft</dt><dd><p>Keeps the index.</p></dd></dl><p>",
    )
    read = passages(document(tmp_path, "orchard-prune.html", page).text)
    assert read[read.index((Kind.TERM, "--soft")) + 1] == (Kind.ANSWER, "Keeps the index.")


def test_a_parameter_described_in_its_own_item_is_an_answer_though_the_entry_goes_on_after_the_list(tmp_path: Path) -> None:
    entry = (
        '<dl class="py method"><dt class="sig sig-object py">copy_from(<em>file</em>, <em>columns=None</em>)</dt><dd>'
        "<p>Read data from the file-like object appending them to the table.</p>"
        '<dl class="field-list simple"><dt class="field-odd">Parameters<span class="colon">:</span></dt>'
        '<dd class="field-odd"><ul class="simple">'
        "<li><p><strong>file</strong> – file-like object to read data from.</p></li>"
        "<li><p><strong>columns</strong> – iterable with name of the columns to import.</p></li>"
        "</ul></dd></dl>"
        "<p>Changed in version 2.0.6: added the columns parameter.</p></dd></dl>"
    )
    read = passages_with(tmp_path, entry)
    assert (Kind.BULLET, "columns – iterable with name of the columns to import.") in read
    assert [text for kind, text in read if kind is Kind.TERM] == ["copy_from(file, columns=None)"]


def test_a_parameter_named_alone_is_still_the_term_of_the_description_after_it() -> None:
    assert passages("- conn_timeout (float) –\n: timeout for connection establishing.") == [
        (Kind.TERM, "- conn_timeout (float) –"), (Kind.ANSWER, "timeout for connection establishing."),
    ]


OPTION = "<h3>--skip-if-file-exists</h3><p>Skip the files in the corresponding directories if they already exist</p>"


def test_a_paragraph_with_no_full_stop_on_a_documentation_page_is_prose_not_a_heading(tmp_path: Path) -> None:
    """The page's markup says which lines are headings; in plain text a short line with no full stop stays one."""
    page = document(tmp_path, "caching.html", HEADER_THEME_PAGE.replace("<p>The cache", OPTION + "<p>The cache"))
    ((_, splits),) = split_documents([page])
    read = [(passage.kind, passage.text) for split in splits for passage in split.passages]
    assert (Kind.HEADING, "--skip-if-file-exists") in read
    assert (Kind.TEXT, "Skip the files in the corresponding directories if they already exist") in read
    plain = passages("Skip the files in the corresponding directories if they already exist\n\nThe cache is kept on disk.")
    assert plain[0] == (Kind.HEADING, "Skip the files in the corresponding directories if they already exist")


def test_worker_processes_read_a_documentation_page_as_one_process_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(tmp_path, {"caching.html": HEADER_THEME_PAGE.replace("<p>The cache", OPTION + "<p>The cache"), "notes.txt": "Pears ripen late."})
    one_process = Engine.from_dir(tmp_path)
    monkeypatch.setattr(splitting, "PARALLEL_FROM_CHARS", 0)
    monkeypatch.setattr(splitting.os, "cpu_count", lambda: 2)
    workers = Engine.from_dir(tmp_path)
    read = [workers.sentence(i) for i in range(len(workers.table))]
    assert read == [one_process.sentence(i) for i in range(len(one_process.table))]
    assert any(s.kind is Kind.TEXT and s.text.startswith("Skip the files") for s in read)
