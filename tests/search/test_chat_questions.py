"""Questions typed as people chat get the answer their plain form gets, on the shipped articles.

Chat markup is dropped, shorthand spelt out and typos corrected by general rules (question.py);
the sentence model and the reranker do the rest, as in the product. None of these questions is in
the development set.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.search.engine import Engine
from bot.search.models.embedding import Embedder, default_model
from bot.search.models.reranker import Reranker, default_reranker

SHIPPED = Path(__file__).resolve().parent.parent.parent / "corpus"


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.from_dir(SHIPPED, embedder=Embedder(default_model())).with_reranker(Reranker(default_reranker()))


@pytest.mark.parametrize(
    ("chat", "plain"),
    [
        ("msft gonna keep getting openai tech after 2030??", "Will Microsoft keep getting OpenAI technology after 2030?"),
        ("wtf is a PBC", "What is a PBC?"),
        ("how mcuh did microsfot invest in opnai", "How much did Microsoft invest in OpenAI?"),
        ("hey <@123> is openai going public soon? 🤔", "Is OpenAI going public soon?"),
    ],
)
def test_a_chat_question_gets_the_answer_of_its_plain_form(engine: Engine, chat: str, plain: str) -> None:
    chatty, formal = engine.ask(chat), engine.ask(plain)
    assert not chatty.abstained and not formal.abstained
    # Its best sentence is one of the plain form's best three: two sentences may say the same ("$1 billion in
    # 2019"), one shown and the other hidden behind it as a restatement, and a typo may tip which is first.
    assert chatty.hits[0].text in [candidate.text for candidate in engine.candidates(plain)[1][:3]]


def test_chat_that_is_not_a_question_about_the_articles_is_refused(engine: Engine) -> None:
    for chatter in ("thanks!", "lol ok", "anyone up for lunch?"):
        assert engine.ask(chatter).abstained, chatter
