"""A corpus folder full of bad files: each is skipped with a warning naming it, and the good article still answers.

Every kind of bad input sits next to one good article. Loading never raises while one article
is usable; a folder with nothing usable is a CorpusError naming the folder.
"""

from __future__ import annotations

import os
import random
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from reading import load_folder

from bot.search.engine import Engine
from bot.search.read.corpus import MAX_FILE_BYTES, CorpusError
from bot.search.read.sentences import MAX_SENTENCE_CHARS

GOOD_FILE = "good.txt"
GOOD_TEXT = """\
Lighthouses of the Northern Coast

The Skerry lighthouse was built in 1852 on a rock three miles offshore.
Keepers lived on the rock for six weeks at a time.
"""
QUESTION = "When was the Skerry lighthouse built?"
ANSWER = "The Skerry lighthouse was built in 1852 on a rock three miles offshore."


def random_bytes(path: Path) -> None:
    path.write_bytes(random.Random(1852).randbytes(4096))


def invalid_utf8(path: Path) -> None:
    path.write_bytes("Le café est fermé le lundi.".encode("latin-1"))


def truncated_utf8(path: Path) -> None:
    path.write_bytes("The café closes on Mondays.".encode("utf-8")[:-12] + b"\xc3")


def nul_in_text(path: Path) -> None:
    path.write_bytes(b"An article with a stray\x00 NUL byte in the middle.")


def empty(path: Path) -> None:
    path.write_bytes(b"")


def whitespace_only(path: Path) -> None:
    path.write_text(" \n\t\r\n\u00a0\u3000\n\n   ", encoding="utf-8")


def page_furniture_only(path: Path) -> None:
    path.write_text("Share\nTweet\nEmail\n3 min read\n1.2k views\nLeave a Reply\n", encoding="utf-8")


def over_the_size_limit(path: Path) -> None:
    with path.open("wb") as file:
        file.truncate(max(100 * 1024 * 1024, MAX_FILE_BYTES + 1))  # sparse: 100 MB long, no disk used


def symlink_loop(path: Path) -> None:
    partner = path.with_name("loop-partner.txt")
    path.symlink_to(partner.name)
    partner.symlink_to(path.name)


def link_to_itself(path: Path) -> None:
    path.symlink_to(path.name)


def dangling_link(path: Path) -> None:
    path.symlink_to("no-such-article.txt")


def named_pipe(path: Path) -> None:
    os.mkfifo(path)  # reading it would block for ever


def page_of_navigation_only(path: Path) -> None:
    path.write_text('<html><body><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li></ul></nav>'
                    "<footer>Copyright 2024 Example</footer></body></html>", encoding="utf-8")


def page_the_extractor_trips_on(path: Path) -> None:
    path.write_text("<svg><text>x</text></svg></html>", encoding="utf-8")  # htmldate fails an assertion on it


def markdown_of_front_matter_only(path: Path) -> None:
    path.write_text("---\ntitle: Coming soon\nauthor: Jane Doe\n---\n", encoding="utf-8")


def a_pdf(path: Path) -> None:
    path.write_bytes(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")


# kind -> (how to make it, what its warning says)
BAD_FILES: dict[str, tuple[Callable[[Path], None], str]] = {
    "random bytes": (random_bytes, "only text articles and web pages are read"),
    "invalid UTF-8 (Latin-1)": (invalid_utf8, "not UTF-8 text (bad byte at offset 6)"),
    "UTF-8 cut mid-character": (truncated_utf8, "not UTF-8 text"),
    "a NUL byte in text": (nul_in_text, "looks binary (it contains NUL bytes)"),
    "empty file": (empty, "empty; add the article's text or remove the file"),
    "whitespace only": (whitespace_only, "empty; add the article's text or remove the file"),
    "page furniture only": (page_furniture_only, "nothing but page furniture is left after cleaning"),
    "100 MB (sparse), over the size limit": (over_the_size_limit, "MB limit; split it into smaller articles"),
    "symlink loop": (symlink_loop, "not a regular file"),
    "symlink to itself": (link_to_itself, "not a regular file"),
    "dangling symlink": (dangling_link, "not a regular file"),
    "named pipe (FIFO)": (named_pipe, "not a regular file"),
    "random bytes (.html)": (random_bytes, "looks binary (it contains NUL bytes)"),
    "empty web page (.htm)": (empty, "empty; add the article's text or remove the file"),
    "web page of navigation only (.html)": (page_of_navigation_only, "no article text found in the page"),
    "web page the extractor trips on (.html)": (page_the_extractor_trips_on, "could not be parsed (AssertionError in trafilatura)"),
    "Markdown of front matter only (.md)": (markdown_of_front_matter_only, "nothing but front matter"),
    "a PDF (.pdf)": (a_pdf, ".pdf is not an article format; only .txt, .md, .html or .htm files are read"),
}


def test_a_utf16_article_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "wide.txt").write_bytes(GOOD_TEXT.encode("utf-16"))
    engine = Engine.from_dir(folder)
    assert engine.warnings == ()
    assert engine.ask(QUESTION).hits[0].text == ANSWER


def bad_name(kind: str) -> str:
    """A file name for the kind: its suffix in brackets at the end of the kind's name, else .txt."""
    suffix = kind[kind.rindex("(") + 1 : -1] if kind.endswith(")") and "(." in kind else ".txt"
    return "bad-" + "".join(c if c.isalnum() else "-" for c in kind.lower()) + suffix


def good_folder(root: Path) -> Path:
    root.mkdir(exist_ok=True)
    (root / GOOD_FILE).write_text(GOOD_TEXT, encoding="utf-8")
    return root


def warnings_for(path: Path, warnings: list[str] | tuple[str, ...]) -> list[str]:
    return [warning for warning in warnings if warning.startswith(f"{path}: ")]


def assert_good_article_answers(engine: Engine) -> None:
    answer = engine.ask(QUESTION)
    assert answer.hits, answer.reason
    assert (answer.hits[0].article.file, answer.hits[0].text) == (GOOD_FILE, ANSWER)


@pytest.mark.parametrize("kind", BAD_FILES)
def test_a_bad_file_is_one_warning_naming_it_and_the_good_article_still_answers(tmp_path: Path, kind: str) -> None:
    folder = good_folder(tmp_path / "corpus")
    make, says = BAD_FILES[kind]
    bad = folder / bad_name(kind)
    make(bad)

    load = load_folder(folder)

    assert [document.file for document in load.documents] == [GOOD_FILE]
    (warning,) = warnings_for(bad, load.warnings)
    assert says in warning
    assert_good_article_answers(Engine.from_dir(folder))


def test_every_kind_of_bad_file_at_once(tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "corpus")
    bad_files = [folder / bad_name(kind) for kind in BAD_FILES]
    for (make, _), bad in zip(BAD_FILES.values(), bad_files):
        make(bad)

    engine = Engine.from_dir(folder)

    assert [article.file for article in engine.sources()] == [GOOD_FILE]
    assert all(len(warnings_for(bad, engine.warnings)) == 1 for bad in bad_files)
    assert_good_article_answers(engine)


def test_a_folder_of_nothing_but_bad_files_is_an_error_naming_the_folder(tmp_path: Path) -> None:
    folder = tmp_path / "all-bad"
    folder.mkdir()
    for kind, (make, _) in BAD_FILES.items():
        make(folder / bad_name(kind))

    with pytest.raises(CorpusError, match=re.escape(f"corpus folder {folder} has no usable articles")):
        load_folder(folder)
    with pytest.raises(CorpusError, match=re.escape(f"corpus folder {folder}")):
        Engine.from_dir(folder)


def test_a_file_given_as_the_corpus_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    article = tmp_path / "one-article.txt"
    article.write_text(GOOD_TEXT, encoding="utf-8")
    with pytest.raises(CorpusError, match=re.escape(f"corpus folder {article} does not exist or is not a folder")):
        load_folder(article)


def test_the_size_limit_can_be_lowered(tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "corpus")
    big = folder / "big.txt"
    big.write_text("A sentence about harbours. " * 100, encoding="utf-8")

    load = load_folder(folder, max_bytes=1000)

    assert [document.file for document in load.documents] == [GOOD_FILE]
    (warning,) = warnings_for(big, load.warnings)
    assert "larger than the" in warning and "split it into smaller articles" in warning


def test_an_unreadable_file_is_a_warning_naming_it(tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "corpus")
    locked = folder / "locked.txt"
    locked.write_text("Nobody may read this article.", encoding="utf-8")
    locked.chmod(0)
    try:
        try:
            locked.read_bytes()
        except PermissionError:
            pass
        else:
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): chmod 000 does not stop reading")

        load = load_folder(folder)

        assert [document.file for document in load.documents] == [GOOD_FILE]
        (warning,) = warnings_for(locked, load.warnings)
        assert "cannot be read (Permission denied)" in warning
    finally:
        locked.chmod(0o644)


def test_an_unlistable_folder_is_an_error_naming_it(tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "corpus")
    folder.chmod(0o300)  # may enter, may not list
    try:
        try:
            os.listdir(folder)
        except PermissionError:
            pass
        else:
            pytest.skip("running as root (or with CAP_DAC_OVERRIDE): chmod does not stop listing")

        with pytest.raises(CorpusError, match=re.escape(f"cannot list corpus folder {folder}")):
            load_folder(folder)
    finally:
        folder.chmod(0o755)


WALL_BYTES = 3_000_000


def test_one_enormous_line_without_punctuation_is_cut_into_bounded_sentences(tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "corpus")
    wall = ("lorem ipsum dolor sit amet sed magna aliqua " * (WALL_BYTES // 40))[:WALL_BYTES]
    (folder / "wall.txt").write_text(wall, encoding="utf-8")

    engine = Engine.from_dir(folder)

    assert engine.warnings == ()
    (article,) = [article for article in engine.sources() if article.file == "wall.txt"]
    pieces = [engine.sentence(i).text for i in engine.table.span(article.number)]
    assert len(pieces) >= WALL_BYTES // MAX_SENTENCE_CHARS
    assert max(len(piece) for piece in pieces) <= MAX_SENTENCE_CHARS
    assert " ".join(pieces) == wall.strip()
    assert_good_article_answers(engine)


def test_one_enormous_word_is_cut_into_bounded_pieces_too(tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "corpus")
    (folder / "blob.txt").write_text("x" * WALL_BYTES, encoding="utf-8")  # say, a pasted base64 image

    engine = Engine.from_dir(folder)

    assert [article.file for article in engine.sources()] == ["blob.txt", GOOD_FILE]
    assert max(len(engine.sentence(i).text) for i in range(len(engine.table))) <= MAX_SENTENCE_CHARS
    assert_good_article_answers(engine)


def test_a_utf8_byte_order_mark_and_windows_line_ends_are_fine(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "GOOD.TXT").write_bytes(b"\xef\xbb\xbf" + GOOD_TEXT.replace("\n", "\r\n").encode("utf-8"))

    load = load_folder(folder)

    assert load.warnings == []
    assert load.documents[0].text.startswith("Lighthouses of the Northern Coast\n")


NO_PUNCTUATION = "harbour walls and fishing boats\nferries waiting for the tide\nnets drying on the quay\n"


def test_an_article_without_sentence_punctuation_is_read_line_by_line_with_a_warning_naming_it(tmp_path: Path) -> None:
    folder = good_folder(tmp_path / "corpus")
    bare = folder / "bare.txt"
    bare.write_text(NO_PUNCTUATION, encoding="utf-8")

    engine = Engine.from_dir(folder)

    (warning,) = warnings_for(bare, engine.warnings)
    assert "no sentence punctuation; each line is read as one sentence" in warning
    answer = engine.ask("Where do the ferries wait?")
    assert (answer.hits[0].article.file, answer.hits[0].text) == ("bare.txt", "ferries waiting for the tide")
    assert_good_article_answers(engine)


@pytest.mark.parametrize(
    "text",
    ["The and of. To a the.\n", "# Only a Heading\n\n## And Another\n", "★ ☆ ✓.\n→ ← ↑.\n"],
    ids=["only stopwords", "only markdown headings", "only symbols"],
)
def test_a_folder_with_nothing_to_answer_from_is_an_error_naming_it(tmp_path: Path, text: str) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "bare.txt").write_text(text, encoding="utf-8")

    with pytest.raises(CorpusError, match=re.escape(f"corpus folder {folder} has no sentence with searchable words")):
        Engine.from_dir(folder)


def load_beside_good(name: str, data: bytes) -> tuple[Path, list[str], list[str], Engine]:
    with tempfile.TemporaryDirectory() as root:
        folder = good_folder(Path(root) / "corpus")
        fuzz = folder / name
        fuzz.write_bytes(data)
        load = load_folder(folder)
        engine = Engine.from_documents(load.documents, warnings=load.warnings)
        return fuzz, [document.file for document in load.documents], load.warnings, engine


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=4000))
def test_any_bytes_either_load_or_are_one_warning_and_the_good_article_still_answers(data: bytes) -> None:
    fuzz, loaded, warnings, engine = load_beside_good("fuzz.txt", data)

    assert GOOD_FILE in loaded
    expected_warnings = 0 if "fuzz.txt" in loaded else 1
    assert len(warnings_for(fuzz, warnings)) == expected_warnings
    assert_good_article_answers(engine)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=2000))
def test_any_utf8_text_either_loads_or_is_one_warning_and_the_good_article_still_answers(text: str) -> None:
    fuzz, loaded, warnings, engine = load_beside_good("fuzz.md", text.encode("utf-8"))

    assert GOOD_FILE in loaded
    front_matter_notes = [w for w in warnings_for(fuzz, warnings) if w.startswith(f"{fuzz}: front matter ")]
    expected_warnings = 0 if "fuzz.md" in loaded else 1
    assert len(warnings_for(fuzz, warnings)) - len(front_matter_notes) == expected_warnings
    assert_good_article_answers(engine)


HTML_PIECES = ["<html>", "</html>", "<body>", "<article>", "<p>", "</p>", "<h1>", "</h1>", "<nav>", "<!--", "-->",
               "<script>", "</script>", "<meta charset='utf-16'>", "<meta charset='nonsense'>", "&#0;", "&amp;",
               "<svg><text>", "</svg>", "<?xml version='1.0'?>", "<table><tr><td>", "\ufffd", "\u202e",
               "The ferry to the island leaves at nine every morning. "]


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=2000) | st.lists(st.sampled_from(HTML_PIECES), max_size=40).map(lambda p: "".join(p).encode()))
def test_any_bytes_saved_as_a_web_page_either_load_or_are_one_warning(data: bytes) -> None:
    fuzz, loaded, warnings, engine = load_beside_good("fuzz.html", data)

    assert GOOD_FILE in loaded
    assert len(warnings_for(fuzz, warnings)) == (0 if "fuzz.html" in loaded else 1)
    assert_good_article_answers(engine)
