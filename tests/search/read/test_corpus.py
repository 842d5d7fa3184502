"""Loading a folder cleans away page furniture with generic rules; the fixtures are made up."""

from pathlib import Path

import pytest
from reading import load_folder

from bot.search.read.corpus import CorpusError, clean_text

ARTICLE = "Acme Widgets Expand Into Orbit\n\nAcme Corp. said on Monday that it will sell widgets to satellite makers. The move follows a year of record sales."


def test_comment_form_and_everything_after_it_is_dropped() -> None:
    text, _ = clean_text(ARTICLE + "\n\nLeave a Reply\n\nYour email address will not be published. Required fields are marked *\nName\nEmail")
    assert text.endswith("record sales.")


@pytest.mark.parametrize("marker", ["Explore more", "Related Articles", "You may also like", "Read more:"])
def test_trailing_teaser_list_is_dropped(marker: str) -> None:
    teasers = "\n\nWhy Cats Rule the Internet\n\nA look at the feline takeover of social media and what it means."
    text, _ = clean_text(ARTICLE + f"\n\n{marker}{teasers}")
    assert "feline" not in text and text.endswith("record sales.")


def test_a_marker_word_early_in_the_article_is_not_a_teaser_list() -> None:
    text, _ = clean_text("Related\n\n" + ARTICLE)
    assert "record sales." in text


def test_counters_widgets_and_bare_citations_are_removed() -> None:
    raw = "Business\n4 min read 12 views\nShare Tweet Email\n" + ARTICLE + " (example.com)\n(reuters.com)"
    text, _ = clean_text(raw)
    assert "min read" not in text and "Tweet" not in text and "example.com" not in text and "reuters" not in text
    assert "satellite makers" in text


@pytest.mark.parametrize(
    "code",
    ["inspect the SQL with str(queryset.query) first.", "form = NameForm(request.POST) binds the data.",
     "The default manager (django.db.models.Manager) is used.", "The order (Meta.ordering) applies."],
)
def test_a_call_or_a_dotted_name_in_parentheses_is_code_not_a_citation(code: str) -> None:
    text, _ = clean_text(ARTICLE + "\n\n" + code)
    assert text.endswith(code)


def test_an_option_named_like_a_share_button_is_kept_over_its_definition() -> None:
    options = "-q\n\n: Be quiet.\n\n-x\n\n: Don't use the standard ignore rules.\n\nX\n\nShare"
    text, _ = clean_text(ARTICLE + "\n\n" + options)
    assert "-x\n\n: Don't use the standard ignore rules." in text
    assert not text.rstrip().endswith(("X", "Share"))  # without a definition under it, still a widget


def test_source_footer_becomes_metadata() -> None:
    text, meta = clean_text(ARTICLE + "\nSource: news.example.org Acme Widgets Expand Into Orbit")
    assert "Source:" not in text
    assert meta.publisher == "news.example.org"
    assert meta.title == "Acme Widgets Expand Into Orbit"


def test_a_real_sentence_starting_with_sources_is_kept() -> None:
    text, _ = clean_text(ARTICLE + "\nSources close to the company said more launches will follow.")
    assert text.endswith("more launches will follow.")


def test_folder_loads_articles_in_name_order_with_metadata(tmp_path: Path) -> None:
    (tmp_path / "b.md").write_text("Second article body. It has two sentences.", encoding="utf-8")
    (tmp_path / "a.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "sources.toml").write_text('["a.txt"]\ntitle = "Widgets"\nurl = "https://example.com/w"\n', encoding="utf-8")
    (tmp_path / "notes.pdf").write_bytes(b"%PDF")
    load = load_folder(tmp_path)
    assert [d.file for d in load.documents] == ["a.txt", "b.md"]
    assert load.documents[0].metadata.title == "Widgets"
    assert load.documents[0].metadata.url == "https://example.com/w"
    assert load.warnings == [f"{tmp_path / 'notes.pdf'}: .pdf is not an article format; only .txt, .md, .html or .htm files are read"]


def test_bad_files_are_warnings_naming_the_file(tmp_path: Path) -> None:
    (tmp_path / "good.txt").write_text(ARTICLE, encoding="utf-8")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02")
    (tmp_path / "sources.toml").write_text("this is = = not toml", encoding="utf-8")
    load = load_folder(tmp_path)
    assert [d.file for d in load.documents] == ["good.txt"]
    messages = "\n".join(load.warnings)
    assert "latin1.txt: not UTF-8" in messages
    assert "empty.txt: empty" in messages
    assert "binary.txt: looks binary" in messages
    assert "sources.toml: unreadable metadata" in messages


def test_no_usable_article_is_an_error_naming_the_folder_and_each_file(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_text("  \n", encoding="utf-8")
    with pytest.raises(CorpusError, match=str(tmp_path)) as error:
        load_folder(tmp_path)
    assert f"{tmp_path / 'empty.txt'}: empty" in str(error.value)


def test_missing_folder_is_an_error_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(CorpusError, match="CORPUS_DIR"):
        load_folder(tmp_path / "nowhere")
