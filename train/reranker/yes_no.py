"""Yes/no questions made from SQuAD's wh-questions and their answers.

SQuAD and WikiQA ask almost nothing that is answered yes or no, but people in a chat ask that way
half the time ("Is Microsoft trying to protect its investment?", "did elon sue openai"). Their answer is
still a sentence of the article: the one that says so, or says otherwise. So a wh-question and its
answer are turned into the yes/no question they imply, and the group keeps its sentences: the
answering sentence stays the positive.

    "When did Beyonce start becoming popular?"       -> "Did Beyonce start becoming popular?"
    "What did the Buddha teach?" + "the middle way"  -> "Did the Buddha teach the middle way?"
    "Who founded the abbey?" + "Lanfranc"            -> "Was it Lanfranc who founded the abbey?"
    "How many children did he have?" + "three"       -> "Did he have three children?"

Some questions are given another answer of the same article instead of their own (a "no"
question): the sentence that answers is the same, as it is for the asker.
Questions no rule fits are left as they are.
"""

from __future__ import annotations

import random
import re

_AUX = r"(is|are|was|were|did|does|do|can|could|will|would|has|have|had|should|may|might|must)"
_BARE = re.compile(rf"^(?:when|why|how)\s+{_AUX}\s+(.+)$", re.IGNORECASE)
_WHERE = re.compile(rf"^where\s+{_AUX}\s+(.+)$", re.IGNORECASE)
# "What can happen to ..." asks for the subject: with a modal, "what" is seldom the object.
_OBJECT = re.compile(r"^(?:what|which|who|whom)\s+(is|are|was|were|did|does|do|has|have|had)\s+(.+)$", re.IGNORECASE)
_NOUN_OBJECT = re.compile(rf"^(?:what|which)\s+(\w+)\s+{_AUX}\s+(.+)$", re.IGNORECASE)
_SUBJECT = re.compile(r"^(who|what|which)\s+(\w+ed)\s+(.+)$", re.IGNORECASE)
_COUNT = re.compile(r"^how (?:many|much)\s+(.+?)\s+(did|does|do|has|have|had)\s+(.+)$", re.IGNORECASE)
_COPULA = {"is", "are", "was", "were"}
_PREPOSITIONS = {"from", "to", "in", "at", "on", "for", "with", "of", "by", "about", "into", "as"}
_TIME_NOUNS = {"year", "years", "century", "decade", "month", "day", "date", "era", "period", "season"}


def yes_no(question: str, answer: str) -> str | None:
    """The yes/no question a wh-question and its answer imply, or None when no rule fits it."""
    text = re.sub(r"\s+", " ", question.strip()).rstrip(" ?.")
    answer = answer.strip().rstrip(".")
    if not text or not answer or len(answer.split()) > 6:
        return None
    last = text.split()[-1].lower()
    if m := _COUNT.match(text):
        made = f"{m.group(2)} {m.group(3)} {answer} {m.group(1)}"
    elif m := _BARE.match(text):
        # "When was it built" keeps its sense without the answer; "When is the festival" and "How did it originate from" do not.
        if last in _PREPOSITIONS or (m.group(1).lower() in _COPULA and not re.search(r"(ed|en|built|held|made|found|born)$", last)):
            return None
        made = f"{m.group(1)} {m.group(2)}"
    elif m := _WHERE.match(text):
        if last in _PREPOSITIONS:
            return None
        made = f"{m.group(1)} {m.group(2)} in {answer}"
    elif (m := _NOUN_OBJECT.match(text)) and m.group(1).lower() not in {"is", "was", "are", "were"}:
        preposition = "in " if m.group(1).lower() in _TIME_NOUNS else ""
        made = f"{m.group(2)} {m.group(3)} {preposition}{answer}"
    elif m := _OBJECT.match(text):
        made = f"{m.group(1)} {m.group(2)} {answer}"
    elif m := _SUBJECT.match(text):
        pronoun = "who" if m.group(1).lower() == "who" else "that"
        made = f"was it {answer} {pronoun} {m.group(2)} {m.group(3)}"
    else:
        return None
    return made[0].upper() + made[1:] + "?"


def yes_no_group(group: dict, answer: str, other_answers: list[str], rng: random.Random, no_share: float) -> dict | None:
    """The group asked as a yes/no question (sometimes with another answer of its article), or None."""
    alike = [other for other in other_answers if _shape(other) == _shape(answer)]
    if alike and rng.random() < no_share:
        answer = rng.choice(alike)
    question = yes_no(group["q"], answer)
    if question is None:
        return None
    return group | {"q": question, "source": group["source"] + "-yes-no"}


def _shape(answer: str) -> str:
    """What kind of answer it is, so a "no" question swaps a year for a year and a name for a name."""
    if re.search(r"\d", answer):
        return "number"
    return "name" if answer[:1].isupper() else "words"
