"""Questions reworded with WordNet synonyms, so the reranker learns meaning rather than shared words.

SQuAD's questions were written by people looking at the paragraph, so they share most of their
words with the answering sentence, and a model trained on them leans on that overlap. People asking
the bot have not read the articles: "Is Microsoft trying to safeguard the money it already put into
OpenAI?" is answered by "...wants to protect its $13 billion investment". So a share of the training
questions have some of the words they share with their answer replaced by a synonym the answer does
not use (Open English WordNet: the lemma's first senses in its likeliest part of speech, else their first
hypernym; only words of the sentence model's WordPiece vocabulary), and the group
keeps its sentences.

    "When did the costs of training AI soar?"  -> "When did the costs of training AI surge?"
    "Who protected the city walls?"            -> "Who guarded the city walls?"

The synonym is given in its dictionary form ("surge" for "soared"): people in a chat do not always
inflect either, and the model reads word pieces, not grammar.

    python train/reranker/synonyms.py --oewn OEWN/src/yaml --out synonyms.json
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from bot.search.index.spelling import ENGLISH_VOCABULARY
from bot.search.index.tokens import STOPWORDS, tokenize

SENSES = 2  # a lemma's most frequent senses read for synonyms (OEWN orders senses by frequency)
MOST = 6  # synonyms kept per lemma and part of speech
POLYSEMOUS = 6  # a lemma with more senses than this (all parts of speech) is left: its first sense is a guess ("state", "work")
REPLACE = 0.6  # chance that each shared word is replaced (at least one is, when any can be)
_WORD = re.compile(r"[A-Za-z]+(?:'[a-z]+)?")
_SUFFIXES = (("ies", "y"), ("ied", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("er", ""), ("est", ""))


def build_table(folder: Path, common: frozenset[str]) -> dict[str, dict[str, tuple[int, list[str]]]]:
    """lemma -> part of speech -> (how many senses it has, its synonyms), from OEWN's YAML sources
    (entries-*.yaml and the synset files). Only synonyms whose every word is in `common` are kept:
    WordNet also lists "habitus" and "soma" for "build", which nobody asks with."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    synsets: dict[str, dict] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name.startswith(("entries-", "frames")):
            continue
        synsets.update(yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {})
    table: dict[str, dict[str, tuple[int, list[str]]]] = {}
    for path in sorted(folder.glob("entries-*.yaml")):
        for lemma, by_pos in (yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}).items():
            lemma = str(lemma)
            if not lemma.isalpha() or not lemma.islower() or len(lemma) < 3:
                continue
            for pos, entry in by_pos.items():
                senses = entry.get("sense") or []
                found: list[str] = []
                for sense in senses[:SENSES]:
                    synset = synsets.get(sense["synset"], {})
                    members = [m for m in synset.get("members", []) if m.lower() != lemma]
                    if not members:
                        for parent in synset.get("hypernym", [])[:1]:
                            members = synsets.get(parent, {}).get("members", [])[:2]
                    found += [m.lower() for m in members if len(m.split()) <= 2 and all(w in common for w in m.lower().split())]
                kept = list(dict.fromkeys(w for w in found if w != lemma))[:MOST]
                if kept:
                    table.setdefault(lemma, {})[pos[0]] = (len(senses), kept)
    return table


def synonyms(word: str, table: dict[str, dict[str, tuple[int, list[str]]]]) -> list[str]:
    """Synonyms of `word` in its likely part of speech: a verb's when it ends in -ed or -ing, else
    those of the part of speech in which its lemma has the most senses ("build" is mostly a verb)."""
    word = word.lower()
    verbal = word.endswith(("ed", "ing"))
    best: tuple[int, list[str]] = (0, [])
    for lemma in lemmas(word, table):
        if sum(senses for senses, _ in table[lemma].values()) > POLYSEMOUS:
            continue
        for pos, (senses, found) in table[lemma].items():
            if verbal and lemma != word and pos != "v":
                continue
            if senses > best[0]:
                best = (senses, found)
    return best[1]


def lemmas(word: str, table: dict) -> list[str]:
    """The table's lemmas `word` may be an inflection of (the word itself first)."""
    found = [word] if word in table else []
    for suffix, ending in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)] + ending
            if stem in table:
                found.append(stem)
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[:-1] in table:  # "stopped" -> "stop"
                found.append(stem[:-1])
    return list(dict.fromkeys(found))


def reworded(question: str, answers: list[str], table: dict, rng: random.Random) -> str | None:
    """`question` with some words it shares with its answering sentences replaced by synonyms those
    sentences do not use; None when no shared word has one."""
    shared = {term for answer in answers for term in tokenize(answer)}
    words = list(_WORD.finditer(question))
    choices: list[tuple[int, list[str]]] = []
    for k, match in enumerate(words):
        word = match.group()
        if word.lower() in STOPWORDS or len(word) < 3 or (word[0].isupper() and k > 0):
            continue  # names stay: a synonym for "Apple" or "Victoria" is another thing
        if not set(tokenize(word)) & shared:
            continue
        options = [s for s in synonyms(word, table) if not set(tokenize(s)) & shared]
        if options:
            choices.append((k, options))
    if not choices:
        return None
    chosen = [c for c in choices if rng.random() < REPLACE] or [rng.choice(choices)]
    text = question
    for k, options in sorted(chosen, key=lambda c: -words[c[0]].start()):
        match = words[k]
        replacement = rng.choice(options)
        if match.group()[0].isupper():
            replacement = replacement[0].upper() + replacement[1:]
        text = text[: match.start()] + replacement + text[match.end() :]
    return text


def reword_group(group: dict, table: dict, rng: random.Random) -> dict | None:
    """The same group asked in other words (None when the question has no shared word to replace)."""
    if not group["pos"]:
        return None
    answers = [p.split(" [SEP] ")[0] for p in group["pos"]]
    question = reworded(group["q"], answers, table, rng)
    if question is None:
        return None
    return {**group, "q": question, "source": group["source"] + "-reworded"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--oewn", type=Path, required=True, help="Open English WordNet's src/yaml folder")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    vocabulary = json.loads(ENGLISH_VOCABULARY.read_text(encoding="utf-8"))["model"]["vocab"]
    table = build_table(args.oewn, frozenset(w for w in vocabulary if w.isascii() and w.isalpha() and len(w) >= 3))
    args.out.write_text(json.dumps(table, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    print(f"{len(table)} lemmas with synonyms -> {args.out}")


if __name__ == "__main__":
    main()
