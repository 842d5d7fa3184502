"""Answering by meaning: the engine with a sentence model finds paraphrases BM25 cannot, and saves its vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tiny_model import write_tiny_model

from bot.search import engine as engine_module
from bot.search.engine import Engine
from bot.search.index import nearest
from bot.search.index.vectors import text_key
from bot.search.models.embedding import Embedder, default_model, folder_model
from bot.search.models.reranker import Reranker, default_reranker

ARTICLES = {
    "01-court.txt": """\
Acme Faces Its Founder in Court

In March, co-founder Jane Roe filed a lawsuit against Acme over its plan to become a for-profit company.
The case will be heard next spring in Delaware.
Acme's shares fell four percent that week.
""",
    "02-deal.txt": """\
Acme and Globex Extend Their Deal

Globex has invested $13 billion in Acme since 2019.
The agreement gives Globex access to Acme's models until 2030.
Both firms want to keep working together after the contract expires.
""",
}


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return Embedder(default_model())


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    for name, text in ARTICLES.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def engine(corpus: Path, minilm: Embedder) -> Engine:
    return Engine.from_dir(corpus, embedder=minilm)


def test_a_paraphrase_finds_the_sentence_bm25_alone_cannot(corpus: Path, engine: Engine) -> None:
    lawsuit = ARTICLES["01-court.txt"].splitlines()[2]
    assert lawsuit not in [hit.text for hit in Engine.from_dir(corpus).ask("who sued acme?").hits]
    assert lawsuit in [hit.text for hit in engine.ask("who sued acme?").hits]
    # The sentence model reads each sentence with its title ("The case will be heard ... (Acme Faces Its Founder
    # in Court)"), so every sentence of that short article is close; the reranker picks the one that answers.
    best = engine.with_reranker(Reranker(default_reranker())).ask("who sued acme?").hits[0]
    assert best.text == lawsuit
    assert best.article.file == "01-court.txt"


def test_a_question_in_other_words_is_answered_not_refused(engine: Engine) -> None:
    answer = engine.ask("how much money has globex sunk into acme altogether?")
    assert not answer.abstained and "$13 billion" in answer.hits[0].text


def test_chat_style_is_answered_like_its_plain_form(engine: Engine) -> None:
    plain = engine.ask("Will Globex keep access to Acme's models after the contract ends?")
    chatty = engine.ask("hey <@123> will globex keep gettin acme's models after the contract ends?? 🤔 lol")
    assert not chatty.abstained
    assert chatty.hits[0].text == plain.hits[0].text


def test_off_topic_questions_are_refused_as_far_from_everything(engine: Engine) -> None:
    answer = engine.ask("What is a good recipe for banana bread?")
    assert answer.abstained and answer.reason == "nothing in the articles is close to the question"


def test_rules_that_still_earn_their_place_still_refuse(engine: Engine) -> None:
    assert engine.ask("How many employees does Acme have?").abstained  # no number of employees anywhere
    assert engine.ask("What did Initech say about Acme?").reason == "the articles never mention Initech"


def test_check_can_say_which_model_and_where_the_vectors_came_from(engine: Engine, minilm: Embedder) -> None:
    status = engine.semantic_status
    assert (status.model, status.sha256, status.vectors) == (minilm.name, minilm.sha256, "built now")
    assert Engine.from_dir(Path(__file__).parent.parent / "fixtures" / "orchard").semantic_status.model == ""


def test_vectors_are_saved_with_the_index_and_reused(corpus: Path, minilm: Embedder, tmp_path: Path) -> None:
    built = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    loaded = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    assert (built.semantic_status.vectors, loaded.semantic_status.vectors) == ("built now", "saved index")
    assert isinstance(loaded.vectors, np.memmap)  # mapped from the file, not read into memory
    assert np.array_equal(built.vectors, loaded.vectors)  # int8 rows, saved as they are searched
    assert [h.text for h in loaded.ask("who sued acme?").hits] == [h.text for h in built.ask("who sued acme?").hits]


def test_the_sentence_model_reads_each_sentence_then_its_title_and_section(tmp_path: Path) -> None:
    """A manual's sentence rarely names its subject; the page and section it sits in do. Read after the sentence,
    they never outweigh it (a news headline in front of every sentence did)."""
    (tmp_path / "guide.md").write_text(
        "# Socket Programming\n\nSockets connect two programs.\n\n## Timeouts\n\nSet the default timeout for new sockets.\n",
        encoding="utf-8",
    )
    engine = Engine.from_dir(tmp_path)
    assert engine.vector_keys().tolist() == [
        text_key("Sockets connect two programs. (Socket Programming)"),
        text_key("Set the default timeout for new sockets. (Socket Programming: Timeouts)"),
    ]


def test_vectors_saved_from_another_reading_of_the_sentences_are_embedded_again(
    corpus: Path, minilm: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vectors an older version saved when the model read "title: sentence" are not reused for the same index:
    they would put each sentence where its old reading was."""
    with monkeypatch.context() as older:
        older.setattr(engine_module, "MODEL_TEXT", "title: sentence")
        older.setattr(Engine, "_model_text", lambda self, doc: f"Old: {self.table.text(int(self.indexed[doc]))}")
        Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    restarted = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    assert restarted.semantic_status.vectors == "built now"  # nothing reused
    fresh = Engine.from_dir(corpus, embedder=minilm)
    assert restarted.vectors is not None and fresh.vectors is not None
    assert np.array_equal(restarted.vectors, fresh.vectors)
    assert Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm).semantic_status.vectors == "saved index"


def test_another_model_re_embeds_without_rebuilding_bm25(corpus: Path, minilm: Embedder, tmp_path: Path) -> None:
    Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    tiny = Embedder(folder_model(write_tiny_model(tmp_path / "tiny")))
    other = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=tiny)
    assert other.semantic_status.vectors == "built now" and other.vectors is not None and other.vectors.shape[1] == 8
    assert not any("saved index not used" in warning for warning in other.warnings)
    again = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    assert again.semantic_status.vectors == "saved index"  # each model keeps its own vectors
    plain = Engine.from_dir(corpus, cache_dir=tmp_path)
    assert plain.semantic_status.model == "" and plain.ask("who filed a lawsuit?").hits  # BM25 alone, same file


def test_the_build_reports_its_progress(corpus: Path, minilm: Embedder) -> None:
    seen: list[tuple[str, int, int]] = []
    Engine.from_dir(corpus, embedder=minilm, progress=lambda what, done, total: seen.append((what, done, total)))
    assert ("splitting articles", 2, 2) in seen and seen[-1] == ("embedding sentences", 6, 6)


def test_after_an_edit_only_new_sentences_are_embedded(corpus: Path, minilm: Embedder, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    for name, text in ARTICLES.items():
        (articles / name).write_text(text, encoding="utf-8")
    Engine.from_dir(articles, cache_dir=tmp_path / "cache", embedder=minilm)
    (articles / "02-deal.txt").write_text(ARTICLES["02-deal.txt"] + "Globex will open a new lab in Oslo.\n", encoding="utf-8")
    edited = Engine.from_dir(articles, cache_dir=tmp_path / "cache", embedder=minilm)
    assert edited.semantic_status.vectors == "built now (1 embedded, 6 reused)"
    assert "the articles or settings changed since the index was saved; rebuilt it" in edited.warnings
    assert not Engine.from_dir(articles, cache_dir=tmp_path / "cache", embedder=minilm).warnings  # said once, not saved
    fresh = Engine.from_dir(articles, embedder=minilm)
    assert edited.vectors is not None and fresh.vectors is not None
    assert np.array_equal(edited.vectors, fresh.vectors)  # each reused row moved to its sentence's new place
    assert edited.ask("where is the new lab?").hits[0].text == "Globex will open a new lab in Oslo."


def test_a_rebuild_without_the_model_keeps_its_vectors_for_later(corpus: Path, minilm: Embedder, tmp_path: Path) -> None:
    articles = tmp_path / "articles"
    articles.mkdir()
    (articles / "a.txt").write_text(ARTICLES["01-court.txt"], encoding="utf-8")
    Engine.from_dir(articles, cache_dir=tmp_path / "cache", embedder=minilm)
    (articles / "b.txt").write_text(ARTICLES["02-deal.txt"], encoding="utf-8")
    assert Engine.from_dir(articles, cache_dir=tmp_path / "cache").semantic_status.model == ""  # SEMANTIC=off meanwhile
    back_on = Engine.from_dir(articles, cache_dir=tmp_path / "cache", embedder=minilm)
    assert back_on.semantic_status.vectors == "built now (3 embedded, 3 reused)"


def test_damaged_saved_vectors_are_embedded_again_with_a_warning(corpus: Path, minilm: Embedder, tmp_path: Path) -> None:
    Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    (saved,) = tmp_path.glob("vectors-*.int8")
    saved.write_bytes(saved.read_bytes()[:200])
    engine = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    assert engine.semantic_status.vectors == "built now"
    assert any("saved sentence vectors not used" in warning for warning in engine.warnings)
    assert Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm).semantic_status.vectors == "saved index"


def test_past_the_exact_limit_the_vector_graph_is_saved_reused_and_rebuilt_when_damaged(
    corpus: Path, minilm: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 3)  # the corpus's 6 sentences are searched through a graph
    monkeypatch.setattr(nearest, "BUILD_THREADS", 1)  # the same graph each build: the answers compare exactly
    built = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    (graph,) = tmp_path.glob("vectors-*.usearch")
    loaded = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    assert loaded.semantic_status.vectors == "saved index" and not loaded.warnings
    assert [h.text for h in loaded.ask("who sued acme?").hits] == [h.text for h in built.ask("who sued acme?").hits]
    graph.write_bytes(graph.read_bytes()[:-40])
    rebuilt = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    assert any("saved vector graph not used" in warning for warning in rebuilt.warnings)
    assert not Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm).warnings  # saved again whole


def test_past_the_graph_limit_the_sign_bits_are_saved_reused_and_rebuilt_when_damaged(
    corpus: Path, minilm: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 2)
    monkeypatch.setattr(nearest, "GRAPH_UP_TO", 10)  # the corpus's 6 sentences: a graph first
    monkeypatch.setattr(nearest, "BUILD_THREADS", 1)
    Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    (graph,) = tmp_path.glob("vectors-*.signs.usearch")
    monkeypatch.setattr(nearest, "GRAPH_UP_TO", 3)  # then past the graph limit: every row's sign bits
    built = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    (signs_file,) = tmp_path.glob("vectors-*.signs")
    assert not graph.exists()  # stale: these rows' search is now their sign bits
    assert built.semantic_status.vectors == "saved index" and not built.warnings
    modified = signs_file.stat().st_mtime_ns
    loaded = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    assert loaded.semantic_status.vectors == "saved index" and not loaded.warnings and signs_file.stat().st_mtime_ns == modified
    assert [h.text for h in loaded.ask("who sued acme?").hits] == [h.text for h in built.ask("who sued acme?").hits]
    signs_file.write_bytes(signs_file.read_bytes()[:-40])
    rebuilt = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    assert any("saved vector graph not used" in warning and signs_file.name in warning for warning in rebuilt.warnings)
    assert not Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm).warnings  # saved again whole


def test_a_graph_saved_by_the_previous_version_is_built_again_not_read_and_deleted(
    corpus: Path, minilm: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The previous version saved an int8 graph as vectors-<model>.int8.<keys>.usearch; this one's graph is over sign bits."""
    monkeypatch.setattr(nearest, "EXACT_UP_TO", 3)
    monkeypatch.setattr(nearest, "BUILD_THREADS", 1)  # the same graph each build: the answers compare exactly
    built = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    (graph,) = tmp_path.glob("vectors-*.signs.usearch")
    previous = graph.with_name(graph.name.replace(".signs.usearch", ".usearch"))
    graph.rename(previous)
    monkeypatch.setattr(nearest.Nearest, "load", _refusing_the(previous, nearest.Nearest.load))
    again = Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    assert graph.exists() and not previous.exists()
    assert [h.text for h in again.ask("who sued acme?").hits] == [h.text for h in built.ask("who sued acme?").hits]


def _refusing_the(previous: Path, load):
    def checked(rows, path, file=None):
        assert path != previous, "the previous version's graph was read"
        return load(rows, path, file)

    return checked


def test_a_restart_of_the_same_index_maps_its_vectors_without_reading_every_sentence(
    corpus: Path, minilm: Embedder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm)
    monkeypatch.setattr(Engine, "vector_keys", lambda self: pytest.fail("every sentence's key was computed again"))
    assert Engine.from_dir(corpus, cache_dir=tmp_path, embedder=minilm).semantic_status.vectors == "saved index"
