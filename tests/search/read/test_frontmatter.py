"""The YAML front matter subset: each value stays the text its author wrote."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.search.read.frontmatter import FrontMatter, split_front_matter

KEYS = ("title", "author", "publisher", "url", "date")


def read(text: str) -> FrontMatter:
    return split_front_matter(lambda: iter(text.split("\n")), KEYS)


def body_of(text: str) -> str:
    """The article text after the block, as the corpus reader takes it."""
    return "\n".join(text.split("\n")[read(text).body_line :])


def fields_of(block: str) -> dict[str, str]:
    text = f"---\n{block}\n---\nBody."
    found = read(text)
    assert found.notes == [] and body_of(text) == "Body."
    return found.fields


@pytest.mark.parametrize(
    "line, title",
    [
        ("title: Plain words", "Plain words"),
        ('title: "Double: quoted \\"with\\" escapes"', 'Double: quoted "with" escapes'),
        ("title: 'Single ''quoted'' text'", "Single 'quoted' text"),
        ("title: Tea: a history", "Tea: a history"),
        ("title: Tides   # a comment", "Tides"),
        ('title: "A # inside quotes"  # then a comment', "A # inside quotes"),
        ("title: C#sharp and a#b", "C#sharp and a#b"),
        ("title: no", "no"),
        ("title: 1984", "1984"),
        ("Title: Capital key", "Capital key"),
    ],
)
def test_a_value_is_the_text_as_written(line: str, title: str) -> None:
    assert fields_of(line) == {"title": title}


def test_dates_and_urls_stay_text() -> None:
    assert fields_of("date: 2024-05-14T09:30:00+01:00\nurl: https://example.com/a#part") == {
        "date": "2024-05-14T09:30:00+01:00",
        "url": "https://example.com/a#part",
    }


@pytest.mark.parametrize(
    "block",
    ["author: [Jane Doe, 'Roe, John']", "authors:\n  - Jane Doe\n  - \"Roe, John\"", "author:\n- Jane Doe\n- Roe, John"],
    ids=["flow list", "block list under 'authors'", "block list at the key's indentation"],
)
def test_a_list_of_authors_is_joined(block: str) -> None:
    assert fields_of(block) == {"author": "Jane Doe, Roe, John"}


def test_a_plain_value_may_go_on_over_several_lines() -> None:
    assert fields_of("title: A long title\n  that goes on\n  and on\ndate: 2024") == {"title": "A long title that goes on and on", "date": "2024"}


def test_other_keys_are_skipped_whatever_their_shape() -> None:
    block = "layout: post\ntags: [a, b]\nseo:\n  description: |\n    Long text\n  image: &img x.png\ntitle: Kept"
    assert fields_of(block) == {"title": "Kept"}


@pytest.mark.parametrize(
    "block, line",
    [
        ("title: >\n  Folded text", 2),
        ("title: {first: a}", 2),
        ("title: &anchor Tea", 2),
        ("title: 'unclosed", 2),
        ("date: 2024\ntitle:\n  first: a", 4),
        ("title: Tea\n  - a list item after a value", 3),
    ],
    ids=["block scalar", "flow map", "anchor", "unclosed quote", "nested map", "list after a value"],
)
def test_a_value_of_another_shape_is_a_note_naming_its_line(block: str, line: int) -> None:
    text = f"---\n{block}\n---\nBody."
    found = read(text)
    assert found.notes == [f"front matter line {line}: title is not plain text or a list of it; ignored"]
    assert "title" not in found.fields and body_of(text) == "Body."


def test_a_file_without_front_matter_is_all_body() -> None:
    text = "# Heading\n\ntitle: this is text, not metadata\n"
    assert body_of(text) == text and read(text).fields == {}


def test_a_horizontal_rule_at_the_top_is_not_front_matter() -> None:
    text = "---\nAn opening paragraph between two rules.\n---\nMore text.\n"
    found = read(text)
    assert (body_of(text), found.fields, found.notes) == (text, {}, [])


def test_three_dots_also_close_the_block() -> None:
    assert read("---\ntitle: Dots\n...\nBody.").fields == {"title": "Dots"}


@given(st.text(alphabet=st.sampled_from(list("-.:#'\"[]{}|>&* \n\tab1")), max_size=200))
def test_any_text_splits_without_error_into_fields_and_a_tail_of_itself(tail: str) -> None:
    text = "---\n" + tail
    found = read(text)
    assert text.endswith(body_of(text))
    assert set(found.fields) <= set(KEYS)
