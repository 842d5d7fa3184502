"""Read a question: its search terms, the concepts they stand for, the names it asks about,
and the kind of fact it wants (a number, a time, anything).

Everything here is stated in terms any corpus has; nothing is tuned to particular questions.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from bot.search.index.tokens import STOPWORDS, fold, stem, tokenize, word_groups, words

# Nouns that name the kind of answer wanted ("which country", "what year") rather than its
# content; right after a question word, the answering sentence rarely repeats them, so there
# they do not count against coverage ("the two companies" elsewhere is content).
ANSWER_TYPE_WORDS = frozenset(
    stem(word)
    for word in """
    kind type sort way ways thing things name names country countries city cities place places
    year years date dates day days month months time times person people company companies firm firms
    organization organisation product products number amount percentage reason reasons example examples
    """.split()
)
# Chat shorthand a sentence model may not know, spelt out before the question is embedded.
# General English chat usage, not the words of any corpus.
CHAT_SHORTHAND = {
    "u": "you", "ur": "your", "r": "are", "y": "why", "b4": "before", "bc": "because", "cuz": "because",
    "coz": "because", "abt": "about", "tho": "though", "thru": "through", "rn": "right now", "atm": "at the moment",
    "wtf": "what", "wth": "what", "wut": "what",
    "wat": "what", "whats": "what is", "hows": "how is", "whos": "who is", "wheres": "where is", "gonna": "going to",
    "wanna": "want to", "gotta": "got to", "dunno": "do not know", "ppl": "people", "govt": "government",
    "msg": "message", "yrs": "years",
}
# Chat filler: it says how someone asks, never what they ask about, so it is dropped before the
# question is searched ("who runs openai rn pls lol" asks "who runs openai"). Left in, "right now"
# or "please" became words an answer had to contain.
FILLER = frozenset(
    """
    lol lmao lmfao rofl omg hey hi hello yo pls plz please thx ty thanks rn atm tbh imo imho btw afaik iirc idk
    fr ngl srsly kinda sorta
    """.split()
)
TAIL_CHARS = 40
# ... and so is a vague tail: "what did they sign or smth", "... and stuff".
_VAGUE_TAIL = re.compile(r"[\s,]+(?:or|and|etc)(?:\s+(?:smth|sth|something|somethin|whatever|stuff|so|so on|such))?\s*(?:like that)?[\s?!.]*$", re.I)
FOCUS_WEIGHT = 2.0
# Okapi's IDF is zero for a word in half the sentences; at the smooth IDF used here that is about log 2.
INFORMATIVE_IDF = math.log(2)


class Expects(Enum):
    """What kind of fact the question asks for, when its wording says so."""

    ANYTHING = "anything"
    NUMBER = "number"
    TIME = "time"


# Chat markup that is not words: mentions (@everyone too), custom emoji, links, markdown emphasis and quotes.
_MARKUP = re.compile(r"<(?:[@#][!&]?|a?:\w+:)\d+>|@(?:everyone|here)\b|https?://\S+|[*_~`|>]+")
# Small words a spelt-out name may hold that its acronym skips: "Securities and Exchange Commission", SEC.
_JOINING = frozenset({"of", "and", "the", "for", "on", "in", "to", "de"})
_LETTERS = re.compile(r"[^\W\d_]+")
_ERROR_CLASS = r"(?:Error|Exception|Warning)"  # how an exception's class name ends, in Python and JavaScript
_ERROR_NAME = re.compile(r"\w+" + _ERROR_CLASS)
_CAPITALISED = re.compile(r"\b[A-Z](?:[\w'’-]*\w)?|\b\w+[A-Z]\w*")  # ends on a letter or digit: not "X-Count'"
# A span the asker quotes ('MYAPP', "X-Count", `Session`, “…”): a value from their own code or output. The quote
# must open and close outside a word, so an apostrophe ("don't") neither opens nor closes one.
_QUOTED = re.compile(r"(?<!\w)(?:'([^'\n]{1,80})'|\"([^\"\n]{1,80})\"|`([^`\n]{1,80})`|‘([^’\n]{1,80})’|“([^”\n]{1,80})”)(?!\w)")
_ASKS_NUMBER = re.compile(r"\bhow (many|much)\b|\bwhat (percentage|percent|share|amount|number)\b")
# Asking for a way to do something: a "how many" after it is what the way is for ("how do i get how many times
# they passed it").
_ASKS_HOW_TO = re.compile(r"\bhow (?:do|does|can|could|would|should|to)\b")
_ASKS_TIME = re.compile(r"\b(what year|which year|what date|in what year|by what year|how long ago)\b")
# Words a chat question may open with before it starts asking ("so when did ...", "wait was it ...").
_LEAD_IN = r"^\W*(?:(?:so|and|but|ok|okay|then|also|um|uh|well|wait|hmm|quick question)\W+)*"
_OPENS_WITH_WHEN = re.compile(_LEAD_IN + r"(?:since\s+|until\s+|till\s+|from\s+)?when\b")
_CLOSES_WITH_WHEN = re.compile(r"\bwhen\W*$")
_WH_PHRASE = re.compile(r"\b(?:which|what|whose)\s+((?:[\w'-]+\s+){0,1}[\w'-]+)")
# A help request without a question mark: someone telling what they want or what goes wrong for them ("my
# callback never runs", "want -v to count", "i get a 404 on every route"), or pasting an error. In the six
# documentation sets in bench/, 148 of 472 help questions read as statements; 104 of those match this, and none
# of SciFact's 300 claims do (claims are in the third person, and write a Roman "I" in capitals).
_ASKS_HELP = re.compile(
    r"\b(?:my|i'm|im|i've|ive|i'd|wanna|tryna)\b|(?<![\w-])i(?![\w-])|\b(?:want|wants|need|needs|trying)\s+to\b"
    r"|\b\w*" + _ERROR_CLASS + ":"
)
_COUNTED = re.compile(r"\bhow many (\w+)")
_WORD = re.compile(r"\w+")
# Whether the text asks at all: a question mark, a question word, or an auxiliary opening it
# ("does put block ...", "wait was openai ..."). "When" and "which" are left out of the anywhere test:
# inside a statement they join clauses ("... when exposed to ...", "... genes which ...").
_QUESTION_WORD = re.compile(r"\b(?:what|who|whom|whose|where|why|how)\b")
_OPENS_ASKING = re.compile(
    _LEAD_IN + r"(?:is|are|was|were|am|do|does|did|can|could|will|would|should|shall|has|have|had|may|might|must|when|which"
    r"|isn't|aren't|wasn't|weren't|don't|doesn't|didn't|can't|couldn't|won't|wouldn't|shouldn't|hasn't|haven't)\b"
)


@dataclass(frozen=True)
class Concept:
    """One written word of the question: any of its terms in a sentence covers it."""

    terms: tuple[str, ...]
    weight: float
    name: str = ""  # as written, when the word is a name (capitalised inside the question)
    informative: bool = True  # False for a word in more than half of the sentences


@dataclass(frozen=True)
class Question:
    """A question reduced to what search needs."""

    terms: tuple[str, ...]
    concepts: tuple[Concept, ...]
    expects: Expects
    counted: str = ""  # the term after "how many", which the answer must mention
    text: str = ""  # as a sentence model should read it: no chat markup, misspellings corrected
    asks: bool = True  # phrased as a question; False for a statement, a claim or bare keywords
    quoted: frozenset[str] = frozenset()  # folded words the asker put in quotes

    @property
    def query(self) -> list[str]:
        """The BM25 query: each term once, names twice (they are what the question is about)."""
        named = {term for concept in self.concepts if concept.name for term in concept.terms}
        return [*self.terms, *(term for term in self.terms if term in named)]

    def unknown_names(self, known: Callable[[str], bool]) -> list[str]:
        """Names none of whose forms ("Web-based": web, based, webbased) the corpus knows, other than an error's
        class name: pasted with its message ("ModuleNotFoundError: No module named 'x'"), it names what went
        wrong, and documentation can say what to do without ever naming it (in the five documentation sets in
        bench/, 2 of 367 answerable questions were refused for such a name, TypeError and ModuleNotFoundError,
        and no unanswerable one was refused for any name)."""
        named = (c for c in self.concepts if c.name and not _ERROR_NAME.fullmatch(c.name) and not self.quotes(c.name))
        return [c.name for c in named if not any(known(term) for term in c.terms)]

    def quotes(self, name: str) -> bool:
        """Whether the asker wrote the name in quotes: a value from their own code or output ("auto_envvar_prefix=
        'MYAPP'", "('X-Count', 1234)" in a pasted error), which the articles need not contain."""
        return all(word in self.quoted for word in words(name))


def is_acronym(name: str) -> bool:
    """Whether a name is written as an acronym ("AG", "IPO"), which an article may only spell out."""
    return 2 <= len(name) <= 6 and name.isalpha() and name.isupper()


def spelt_out(acronym: str, text: str) -> str | None:
    """The consecutive content words of `text` whose initials are the acronym's letters, small joining words
    allowed between them ("attorney general" for AG, "securities and exchange commission" for SEC), or None."""
    letters = acronym.lower()
    found = _LETTERS.findall(text.lower())
    for start, first in enumerate(found):
        if first[0] != letters[0] or first in STOPWORDS:
            continue
        matched, end = 1, start + 1
        while matched < len(letters) and end < len(found):
            word = found[end]
            if word[0] == letters[matched] and word not in STOPWORDS:
                matched += 1
            elif word not in _JOINING:
                break
            end += 1
        if matched == len(letters):
            return " ".join(found[start:end])
    return None


def analyse(question: str, idf: Callable[[str], float], correct: Callable[[str], str | None]) -> Question:
    """Terms in order (misspellings corrected), grouped into weighted concepts, and the answer type."""
    text = _readable(_MARKUP.sub(" ", question), correct)
    folded = fold(text)
    names = _named_words(text)
    asked_for = _answer_type_terms(folded)
    terms: list[str] = []
    concepts: dict[tuple[str, ...], Concept] = {}
    for group in word_groups(text):
        stems = tuple(dict.fromkeys(stem(correct(word) or word) for word in group))
        terms.extend(term for term in stems if term not in terms)
        if stems in concepts or asked_for.intersection(stems):
            continue
        name = next((names[word] for word in group if word in names), "")
        information = max(idf(term) for term in stems)
        concepts[stems] = Concept(stems, information * (FOCUS_WEIGHT if name else 1.0), name, information > INFORMATIVE_IDF)
    counted = _COUNTED.search(folded)
    counted_terms = tokenize(counted.group(1)) if counted else []
    return Question(
        tuple(terms),
        tuple(concepts.values()),
        _expects(folded),
        counted_terms[0] if counted_terms else "",
        text,
        _asks(question, folded),
        frozenset(word for match in _QUOTED.finditer(question) for word in words("".join(filter(None, match.groups())))),
    )


def _readable(text: str, correct: Callable[[str], str | None]) -> str:
    """The question in plain words: chat shorthand spelt out, misspellings corrected, spacing collapsed."""

    def plain(match: re.Match[str]) -> str:
        word = match.group()
        folded = fold(word)
        if folded in FILLER:
            return ""
        if folded in CHAT_SHORTHAND:
            return CHAT_SHORTHAND[folded]
        if folded in STOPWORDS:
            return word  # a common English word is never a misspelling, even where the articles lack it
        fixed = correct(folded)
        if fixed is None:
            return word
        return fixed.capitalize() if word[:1].isupper() else fixed

    return " ".join(_WORD.sub(plain, _without_vague_tail(text)).split())


def _without_vague_tail(text: str) -> str:
    """The question without a trailing "or smth" / "and stuff" (a bare "or" or "and" at the end too)."""
    head, tail = text[:-TAIL_CHARS], text[-TAIL_CHARS:]  # a tail is short: never scan a long question for it
    trimmed = head + _VAGUE_TAIL.sub("", tail)
    return trimmed if _WORD.search(trimmed) else text


def _answer_type_terms(folded: str) -> set[str]:
    """Type words ("which country", "what kind of", "which Microsoft product") right after a question word."""
    found = set()
    for match in _WH_PHRASE.finditer(folded):
        found.update(term for term in tokenize(match.group(1)) if term in ANSWER_TYPE_WORDS)
    return found


def _named_words(text: str) -> dict[str, str]:
    """Capitalised words that do not open a sentence (the names a question is about), folded.

    A question in capitals or Title Case says nothing about names, so it has none.
    """
    names: dict[str, str] = {}
    written = [word for word in text.split() if word[:1].isalpha()]
    if len(written) >= 3 and sum(word[0].isupper() for word in written) >= 0.7 * len(written):
        return names
    for match in _CAPITALISED.finditer(text):
        opening = re.split(r"[.!?:\"“]", text[: match.start()])[-1]
        if re.search(r"\w", opening):
            names.update((word, match.group()) for word in words(match.group()))
    return names


def _asks(written: str, folded: str) -> bool:
    """Whether the text is phrased as a question or asks for help, not a claim to check or keywords to look up."""
    return "?" in written or bool(_QUESTION_WORD.search(folded) or _OPENS_ASKING.search(folded) or _ASKS_HELP.search(written))


def _expects(folded: str) -> Expects:
    """The answer type the wording asks for.

    "When" asks for a time only where it is the question word: opening the question ("when did",
    "so when did", "since when"), or closing it ("they signed it when?"). Inside a clause it says
    when something else holds: "does put block when the queue is full" asks yes or no, "what city was
    the convention when Ford was nominated" asks for a city.
    """
    number = _ASKS_NUMBER.search(folded)
    if number and not _ASKS_HOW_TO.search(folded, 0, number.start()):
        return Expects.NUMBER
    if _ASKS_TIME.search(folded) or _OPENS_WITH_WHEN.search(folded) or _CLOSES_WITH_WHEN.search(folded):
        return Expects.TIME
    return Expects.ANYTHING


def smooth_idf(document_frequency: int, documents: int) -> float:
    """An IDF that stays positive for common words and is largest for unseen ones."""
    return math.log((documents + 1) / (document_frequency + 0.5))
