"""The engine answers from the orchard fixture corpus (tests/fixtures/orchard), or says it can't."""

from pathlib import Path

import pytest
import rank_bm25

from bot.search.cache import CACHE_FILE
from bot.search.engine import Engine, SearchSettings
from bot.search.index.tokens import tokenize
from bot.search.read import splitting

ORCHARD = Path(__file__).resolve().parent.parent / "fixtures" / "orchard"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_dir(ORCHARD)


def test_answers_with_the_supporting_sentence_and_its_article(engine: Engine) -> None:
    answer = engine.ask("How many bees live in a hive?")
    assert not answer.abstained
    best = answer.hits[0]
    assert best.text == "A healthy hive holds about 50,000 bees."
    assert best.article.file == "03_bees.txt" and best.article.number == 3
    assert set(best.matched) == {"hive", "bees"}


def test_faq_answer_is_found_by_the_words_of_its_question(engine: Engine) -> None:
    assert engine.ask("Who buys the apples?").hits[0].text == "Most of the crop goes to supermarkets in the capital."


def test_the_same_fact_in_two_articles_is_shown_once_naming_both(engine: Engine) -> None:
    hits = engine.ask("Which cooperative picked a record apple harvest?").hits
    record = [hit for hit in hits if "record" in hit.text]
    assert len(record) == 1
    assert {record[0].article.file, *(a.file for a in record[0].also_in)} == {"01_apples.txt", "02_pears.md"}


@pytest.mark.parametrize(
    "question",
    [
        "",
        "   ",
        "What is the capital of France?",  # off-topic: France is never mentioned
        "How is AI changing 6G networks?",
        "Ten ways to bake sourdough bread",  # only in the stripped teaser list
        "Your email address will not be published",  # only in the stripped comment form
        "When did the beekeepers first arrive?",  # asks for a time no sentence gives
    ],
)
def test_abstains_when_the_articles_do_not_answer(engine: Engine, question: str) -> None:
    answer = engine.ask(question)
    assert answer.abstained and answer.hits == () and answer.reason


def test_misspelt_words_are_corrected(engine: Engine) -> None:
    assert engine.ask("how many tonnes of aples were picked").hits[0].article.file == "01_apples.txt"


def test_top_k_bounds_the_hits(engine: Engine) -> None:
    assert len(engine.ask("apple pear orchard growers", top_k=1).hits) == 1
    assert len(engine.ask("apple pear orchard growers", top_k=5).hits) <= 5


def test_context_gives_neighbours_from_the_same_article(engine: Engine) -> None:
    hit = engine.ask("How many bees live in a hive?").hits[0]
    texts = [s.text for s in engine.context(hit, window=1)]
    assert texts == [
        "Beekeepers rent hives to orchards every spring to pollinate the blossom.",
        "A healthy hive holds about 50,000 bees.",
        "Without pollination, apple and pear trees set very little fruit.",
    ]
    assert engine.context_of(10_000) == ()


def test_sources_list_titles_and_metadata(engine: Engine) -> None:
    apples, pears, bees = engine.sources()
    assert (apples.title, apples.publisher, apples.url) == (
        "Apple Harvest Breaks Records",
        "Valley Gazette",
        "https://gazette.example.com/apples",
    )
    assert pears.title == "Pear Growers Struggle With Drought"
    assert bees.publisher == "farming.example.com"
    assert engine.article(4) is None and engine.opening(3, 1) == (
        "Beekeepers rent hives to orchards every spring to pollinate the blossom.",
    )


def test_scores_are_rank_bm25_scores_of_the_chosen_variant(engine: Engine) -> None:
    docs = [tokenize(engine.table.text(int(i))) for i in engine.indexed]
    faq = engine.ask("Who buys the apples?").hits[0]
    docs = [
        doc + (tokenize("Who buys the apples?") if engine.table.text(int(i)) == faq.text else [])
        for doc, i in zip(docs, engine.indexed)
    ]
    reference = rank_bm25.BM25Okapi(docs, k1=engine.settings.k1, b=engine.settings.b, epsilon=engine.settings.epsilon)
    query = ["hive", "bee"]
    assert engine.index.scores(query) == pytest.approx(reference.get_scores(query), abs=1e-9)


def test_saved_engine_is_reused_and_rebuilt_when_the_corpus_changes(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("Lighthouses guide ships along rocky coasts at night.", encoding="utf-8")
    cache = tmp_path / "cache"
    first = Engine.from_dir(corpus, cache_dir=cache)
    saved = cache / CACHE_FILE
    assert saved.is_file()
    stamp = saved.stat().st_mtime_ns

    again = Engine.from_dir(corpus, cache_dir=cache)
    assert saved.stat().st_mtime_ns == stamp
    assert again.ask("what guides ships").hits == first.ask("what guides ships").hits

    (corpus / "b.txt").write_text("Foghorns warn ships when the fog rolls in.", encoding="utf-8")
    changed = Engine.from_dir(corpus, cache_dir=cache)
    assert changed.ask("foghorns").hits[0].article.file == "b.txt"


def test_a_damaged_saved_engine_is_rebuilt_with_a_warning(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / CACHE_FILE).write_bytes(b"PK\x03\x04 not really a zip")
    engine = Engine.from_dir(ORCHARD, cache_dir=cache)
    assert any("saved index not used" in warning for warning in engine.warnings)
    assert not engine.ask("How many bees live in a hive?").abstained


def test_settings_choose_the_bm25_variant() -> None:
    plus = Engine.from_dir(ORCHARD, settings=SearchSettings(variant="plus"))
    assert plus.index.params.variant == "plus"


def test_a_sentence_gains_from_a_matching_neighbour(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(
        "The operator praised the new pier. A school opened in the south. "
        "Storms closed the northern ferry route. The operator blamed the old pier.",
        encoding="utf-8",
    )
    (corpus / "b.txt").write_text("Bakers sell bread. Farmers grow wheat. Millers grind flour.", encoding="utf-8")
    texts = [hit.text for hit in Engine.from_dir(corpus).ask("ferry operator pier", top_k=5).hits]
    assert texts.index("The operator blamed the old pier.") < texts.index("The operator praised the new pier.")


def test_a_big_corpus_is_split_over_worker_processes_with_the_same_result(monkeypatch: pytest.MonkeyPatch) -> None:
    one_process = Engine.from_dir(ORCHARD)
    monkeypatch.setattr(splitting, "PARALLEL_FROM_CHARS", 0)
    monkeypatch.setattr(splitting.os, "cpu_count", lambda: 2)
    workers = Engine.from_dir(ORCHARD)
    assert [one_process.sentence(i) for i in range(len(one_process.table))] == [
        workers.sentence(i) for i in range(len(workers.table))
    ]
    assert one_process.index.to_arrays().keys() == workers.index.to_arrays().keys()
    assert all(
        (a == b).all() for a, b in zip(one_process.index.to_arrays().values(), workers.index.to_arrays().values())
    )


def test_a_name_only_in_a_title_is_still_mentioned(tmp_path: Path) -> None:
    (tmp_path / "zach.txt").write_text(
        "Zach Thomas\n\nZachary Michael Thomas played college football for Texas Tech. "
        "He joined the Miami Dolphins in 1996. He retired after thirteen seasons.\n",
        encoding="utf-8",
    )
    answer = Engine.from_dir(tmp_path).ask("what school did Zach Thomas play for?")
    assert not answer.abstained and answer.hits[0].text.startswith("Zachary Michael Thomas")


def test_an_acronym_the_articles_spell_out_is_mentioned_and_one_they_do_not_is_refused(tmp_path: Path) -> None:
    (tmp_path / "review.txt").write_text(
        "The Delaware attorney general is reviewing the charity's new structure. "
        "The review is expected to end in the spring.\n",
        encoding="utf-8",
    )
    engine = Engine.from_dir(tmp_path)
    answer = engine.ask("what is the Delaware AG reviewing?")
    assert not answer.abstained and answer.hits[0].text.startswith("The Delaware attorney general")
    assert engine.ask("what is the Delaware SEC reviewing?").reason == "the articles never mention SEC"


def test_parts_that_do_not_fit_together_are_refused() -> None:
    engine = Engine.from_dir(ORCHARD)
    parts = (engine.sources(), engine.table, engine.index)
    negative = engine.indexed.copy()
    negative[0] = -1
    for indexed in (negative, engine.indexed + len(engine.table)):  # a negative id; an id past the table
        with pytest.raises(ValueError, match="does not fit the sentence table"):
            Engine(*parts, indexed, engine.speller, engine.settings)
