"""Articles as operators have them: saved web pages and Markdown with YAML front matter.

The pages are made up, written the way news sites and blogs lay them out: navigation, bylines,
share widgets, "related" teasers and comments around the article.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from reading import load_folder

from bot.search.engine import Engine

NEWS_PAGE = """\
<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Harbour lighthouse restored after ten years | The Coastal Gazette</title>
  <meta property="og:title" content="Harbour lighthouse restored after ten years">
  <meta property="og:site_name" content="The Coastal Gazette">
  <meta name="author" content="Jane Doe">
  <meta property="article:published_time" content="2024-05-14T09:30:00Z">
  <link rel="canonical" href="https://gazette.example/news/lighthouse-restored">
  <link rel="stylesheet" href="https://cdn.gazette.example/site.css">
  <script src="https://cdn.gazette.example/tracker.js"></script>
</head>
<body>
  <header>
    <nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li><li><a href="/sport">Sport</a></li>
    <li><a href="/weather">Weather</a></li></ul></nav>
    <form><input type="search" placeholder="Search the Gazette"></form>
  </header>
  <main>
    <article>
      <h1>Harbour lighthouse restored after ten years</h1>
      <p class="byline">By Jane Doe · <time datetime="2024-05-14">14 May 2024</time></p>
      <div class="share">Share <a href="#">Facebook</a> <a href="#">Twitter</a> <a href="#">Email</a></div>
      <img src="https://cdn.gazette.example/lighthouse.jpg" alt="The lighthouse at dusk">
      <p>The harbour lighthouse shone again on Tuesday night after a restoration that took ten years
      and cost 2.4 million pounds.</p>
      <p>Volunteers from the Keepers' Trust replaced the lantern's brass fittings by hand, working from
      drawings made when the tower was finished in 1871.</p>
      <h2>A new lens from an old design</h2>
      <p>The original Fresnel lens was cracked beyond repair, so a glassworks in Sunderland cast a copy
      from the surviving fragments.</p>
      <ul><li>The new lens weighs 1.2 tonnes.</li><li>Its beam reaches 22 nautical miles.</li></ul>
      <p>The trust plans guided tours of the tower from June.</p>
    </article>
    <aside class="related">
      <h3>Related stories</h3>
      <ul>
        <li><a href="/a">Pier closes for winter repairs after storm damage to its timbers</a></li>
        <li><a href="/b">Ferry timetable changes announced for the summer season</a></li>
      </ul>
    </aside>
    <section id="comments" class="comments">
      <h3>2 Comments</h3>
      <div class="comment"><p class="comment-author">seadog77</p>
        <p>About time! The old lens was a disgrace to the whole town and everybody knew it.</p></div>
      <div class="comment"><p class="comment-author">Mary</p>
        <p>Great work by the volunteers, I remember the beam sweeping my bedroom as a child.</p></div>
      <form><p>Leave a reply</p><textarea></textarea><button>Post comment</button></form>
    </section>
  </main>
  <footer><p>© 2024 The Coastal Gazette. All rights reserved.</p>
  <a href="/privacy">Privacy policy</a> <a href="/subscribe">Subscribe to our newsletter</a></footer>
</body>
</html>
"""

BLOG_PAGE = """\
<html><head><title>Bees in winter - Garden Notes</title></head>
<body>
<div id="menu"><a href="/">Home</a> | <a href="/about">About</a> | <a href="/contact">Contact</a></div>
<div class="content">
<h1>Bees in winter</h1>
<div class="meta">Posted by <span class="author">Tom Hive</span> on March 3, 2023</div>
<p>Honeybees do not hibernate. They form a <b>winter cluster</b> around the queen and shiver their flight
muscles to keep the centre at about 35 degrees Celsius.</p>
<p>A colony of 20,000 bees eats roughly 15 kilograms of honey between November and March.</p>
<table><tr><th>Month</th><th>Honey eaten</th></tr><tr><td>December</td><td>3 kg</td></tr></table>
<p>Beekeepers check the weight of a hive by lifting one side, a practice called hefting.</p>
<div class="related-posts"><h4>You might also like</h4>
<p><a href="/x">Why wasps sting in August and what to do about it</a></p></div>
<div class="comments"><h4>Comments</h4><p>Bob: I lost two hives last winter to damp, ventilation matters!</p></div>
</div>
<div id="footer">Copyright 2023 Garden Notes</div>
</body></html>
"""

NAVIGATION_ONLY = """\
<html><body><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li></ul></nav>
<footer>Copyright 2024 Example</footer></body></html>
"""


def one_document(folder: Path, name: str, content: str | bytes):
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    load = load_folder(folder)
    (document,) = [d for d in load.documents if d.file == name]
    return document, load.warnings


# --- web pages --------------------------------------------------------------------------


def test_a_saved_news_page_gives_the_article_text_without_navigation_share_teasers_or_comments(tmp_path: Path) -> None:
    document, warnings = one_document(tmp_path, "lighthouse.html", NEWS_PAGE)

    assert warnings == []
    text = document.text
    assert "The harbour lighthouse shone again on Tuesday night" in text
    assert "Its beam reaches 22 nautical miles." in text
    assert "The trust plans guided tours of the tower from June." in text
    for furniture in ("Weather", "Search the Gazette", "Facebook", "Pier closes", "Ferry timetable",
                      "About time", "bedroom", "Leave a reply", "All rights reserved", "Subscribe"):
        assert furniture not in text, furniture


def test_a_page_s_title_author_date_url_and_site_name_are_its_metadata(tmp_path: Path) -> None:
    document, _ = one_document(tmp_path, "lighthouse.html", NEWS_PAGE)

    meta = document.metadata
    assert meta.title == "Harbour lighthouse restored after ten years"
    assert meta.author == "Jane Doe"
    assert meta.date == "2024-05-14"
    assert meta.url == "https://gazette.example/news/lighthouse-restored"
    assert meta.publisher == "The Coastal Gazette"


def test_a_blog_page_without_article_tags_keeps_its_text_and_byline_but_not_its_table_or_comments(tmp_path: Path) -> None:
    document, warnings = one_document(tmp_path, "bees.htm", BLOG_PAGE)

    assert warnings == []
    assert "They form a winter cluster around the queen" in document.text
    assert "a practice called hefting." in document.text
    assert "Honey eaten" not in document.text and "ventilation" not in document.text and "wasps" not in document.text
    assert (document.metadata.title, document.metadata.author, document.metadata.date) == ("Bees in winter", "Tom Hive", "2023-03-03")


def test_a_page_answers_questions_under_its_own_title(tmp_path: Path) -> None:
    one_document(tmp_path, "lighthouse.html", NEWS_PAGE)

    answer = Engine.from_dir(tmp_path).ask("How far does the beam reach?")

    assert answer.hits[0].text == "Its beam reaches 22 nautical miles."
    assert answer.hits[0].article.title == "Harbour lighthouse restored after ten years"
    assert answer.hits[0].article.publisher == "The Coastal Gazette"


def test_a_page_in_a_legacy_encoding_is_read_by_its_declared_charset(tmp_path: Path) -> None:
    page = NEWS_PAGE.replace('charset="utf-8"', 'charset="windows-1252"').replace("Sunderland", "Sunderland’s café")
    document, warnings = one_document(tmp_path, "legacy.html", page.replace("·", "-").replace("©", "(c)").encode("cp1252"))

    assert warnings == []
    assert "Sunderland’s café cast a copy" in document.text


def test_sources_toml_wins_over_what_the_page_says(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "sources.toml").write_text('["lighthouse.html"]\ntitle = "Lighthouse back in service"\n', encoding="utf-8")

    document, _ = one_document(tmp_path, "lighthouse.html", NEWS_PAGE)

    assert document.metadata.title == "Lighthouse back in service"
    assert document.metadata.author == "Jane Doe"


def test_a_page_with_no_article_in_it_is_a_warning_naming_it(tmp_path: Path) -> None:
    (tmp_path / "menu.html").write_text(NAVIGATION_ONLY, encoding="utf-8")
    (tmp_path / "lighthouse.html").write_text(NEWS_PAGE, encoding="utf-8")

    load = load_folder(tmp_path)

    assert [d.file for d in load.documents] == ["lighthouse.html"]
    assert load.warnings == [f"{tmp_path / 'menu.html'}: no article text found in the page (only navigation, comments or other page furniture); skipped"]


def test_reading_pages_fetches_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The page links a canonical URL, a stylesheet, a script and an image: none of them is fetched."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)

    document, warnings = one_document(tmp_path, "lighthouse.html", NEWS_PAGE)

    assert attempts == [] and warnings == []
    assert "Its beam reaches 22 nautical miles." in document.text


# --- Markdown front matter ----------------------------------------------------------------

FRONT_MATTER_ARTICLE = """\
---
title: "Tea clippers: the race of 1866"
author: Jane Doe
date: 2024-06-01
url: https://example.com/tea-clippers  # the canonical address
tags: [history, ships]
layout:
  wide: true
---
# The Great Tea Race

In 1866 the clippers Taeping and Ariel docked in London within an hour of each other after 99 days at sea.
"""


def test_markdown_front_matter_is_metadata_not_text(tmp_path: Path) -> None:
    document, warnings = one_document(tmp_path, "tea.md", FRONT_MATTER_ARTICLE)

    assert warnings == []
    assert document.text.startswith("# The Great Tea Race")
    assert "author" not in document.text and "tags" not in document.text
    meta = document.metadata
    assert (meta.title, meta.author, meta.date) == ("Tea clippers: the race of 1866", "Jane Doe", "2024-06-01")
    assert meta.url == "https://example.com/tea-clippers"


def test_the_front_matter_title_is_the_article_s_title(tmp_path: Path) -> None:
    one_document(tmp_path, "tea.md", FRONT_MATTER_ARTICLE)

    (article,) = Engine.from_dir(tmp_path).sources()

    assert article.title == "Tea clippers: the race of 1866"
    assert article.url == "https://example.com/tea-clippers"


def test_a_one_word_markdown_title_is_shown_without_its_marker(tmp_path: Path) -> None:
    one_document(tmp_path, "sockets.md", "# Sockets\n\nSockets connect two programs.\n")

    (article,) = Engine.from_dir(tmp_path).sources()

    assert article.title == "Sockets"


def test_sources_toml_wins_over_front_matter_and_front_matter_over_a_source_footer(tmp_path: Path) -> None:
    tmp_path.mkdir(exist_ok=True)
    (tmp_path / "sources.toml").write_text('["tea.md"]\ndate = "1866-09-06"\n', encoding="utf-8")
    article = FRONT_MATTER_ARTICLE + "\nSource: shipping.example.org The Great Tea Race\n"

    document, _ = one_document(tmp_path, "tea.md", article)

    assert document.metadata.date == "1866-09-06"
    assert document.metadata.title == "Tea clippers: the race of 1866"
    assert document.metadata.publisher == "shipping.example.org"


def test_a_markdown_file_with_nothing_but_front_matter_is_a_warning(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text(FRONT_MATTER_ARTICLE, encoding="utf-8")
    (tmp_path / "stub.md").write_text("---\ntitle: Coming soon\n---\n\n", encoding="utf-8")

    load = load_folder(tmp_path)

    assert [d.file for d in load.documents] == ["good.md"]
    assert load.warnings == [f"{tmp_path / 'stub.md'}: nothing but front matter; add the article's text or remove the file"]


def test_front_matter_that_never_closes_is_read_as_text_with_a_warning(tmp_path: Path) -> None:
    document, warnings = one_document(tmp_path, "open.md", "---\ntitle: Half done\n\nThe ships sailed from Foochow in May.\n")

    assert warnings == [f"{tmp_path / 'open.md'}: front matter opened with '---' on line 1 never closes with '---'; read as text"]
    assert "The ships sailed from Foochow in May." in document.text and document.metadata.title is None


def test_a_value_it_cannot_read_is_a_warning_naming_the_line_and_the_rest_still_counts(tmp_path: Path) -> None:
    article = "---\ntitle: Tea\nauthor: |\n  Jane Doe\ndate: 2024-06-01\n---\nThe clippers raced from China to London.\n"

    document, warnings = one_document(tmp_path, "tea.md", article)

    assert warnings == [f"{tmp_path / 'tea.md'}: front matter line 3: author is not plain text or a list of it; ignored"]
    assert (document.metadata.title, document.metadata.author, document.metadata.date) == ("Tea", None, "2024-06-01")


def test_a_txt_file_s_dashes_are_text(tmp_path: Path) -> None:
    document, _ = one_document(tmp_path, "notes.txt", "---\ntitle: Not metadata here\n---\nThe clippers raced from China.\n")

    assert document.text.startswith("---\ntitle: Not metadata here") and document.metadata.title is None


def test_the_author_a_page_names_reaches_its_article(tmp_path: Path) -> None:
    from bot.search.engine import Engine

    (tmp_path / "lighthouse.html").write_text(NEWS_PAGE, encoding="utf-8")
    assert Engine.from_dir(tmp_path).sources()[0].author == "Jane Doe"
