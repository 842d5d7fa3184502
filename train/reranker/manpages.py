"""Training groups of another kind than SQuAD's: help-channel questions about command-line options, from man pages.

SQuAD's and WikiQA's questions are about facts in Wikipedia prose. Documentation is asked about
differently ("how do i delete a tag", "what does --no-ff do"), and its answer is usually an option's
description, beside many descriptions of the same shape. A man page's OPTIONS section is that shape
with a label: each option (`.TP` term, then its description) says what it does. From each option
this writes one question a user could ask it, with the option's first sentence as the answer and
the page's other options and DESCRIPTION sentences as hard negatives, in data.py's format:
    {"q": str, "pos": [str], "neg": [str], "source": "manpage:<page>"}

Questions, by a few templates (seeded):
- "how do i <its description, first clause>" ("Delete existing tags" -> "how do i delete existing tags
  with mytag?"), a fifth of them reworded by synonyms.py;
- "what does <--option> do in <command>?";
- "can <command> <first clause>?" (yes/no).
A share of groups keep only the negatives (the page does not answer), so the model learns to say no.

Pages come from a man folder (this machine's /usr/share/man, installed Debian packages) and from Debian
packages downloaded and unpacked (`apt-get download`, `dpkg-deb -x`); pages of
packages that a benchmark is made of (git, Python, Django, Typer) are left out. `--sources` writes
each page's package and the licence its copyright file states.

    python train/reranker/manpages.py --man /usr/share/man --debs unpacked/ --synonyms synonyms.json \\
        --out man-groups.jsonl --sources man-sources.tsv
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import random
import re
from collections.abc import Iterator
from pathlib import Path

from rank_bm25 import BM25Okapi
from synonyms import lemmas, reword_group

from bot.search.index.tokens import tokenize
from bot.search.read.sentences import split_sentences

SEED = 20261205
NEGATIVES = 7
UNANSWERED_SHARE = 0.15
REWORDED_SHARE = 0.2  # WordNet synonyms of technical words are often wrong ("deposit" for "archive")
LOWERCASE_SHARE = 0.25  # asked as people type in chat: lowercase, no question mark
# No one command set dominates (google-cloud-cli alone ships 6,600 pages of the same shape): groups a page
# and a package give at most, and "what does --x do" questions at most this share of the others.
PER_PAGE = 30
PER_PACKAGE = 300
WHAT_SHARE = 0.6
# Packages whose pages a benchmark is made of, or whose documentation is how the product is measured.
EXCLUDED_PACKAGES = re.compile(r"^(git|git-.*|python.*|libpython.*|idle.*|.*django.*|.*typer.*)$")
_FONT = re.compile(r"\\f(?:\[[^\]]*\]|\(..|.)")
_ESCAPES = {r"\-": "-", r"\(em": "—", r"\(en": "–", r"\(aq": "'", r"\(dq": '"', r"\(lq": '"', r"\(rq": '"',
            r"\(oq": "'", r"\(cq": "'", r"\(bu": "", r"\e": "\\", r"\&": "", r"\ ": " ", r"\|": "", r"\^": "", r"\~": " "}
_OTHER_ESCAPE = re.compile(r"\\(?:\(..|\*\(..|\*\[[^\]]*\]|\*.|\[[^\]]*\]|[a-zA-Z])")
_BLOCK_END = re.compile(r"^\.(?:TP|IP|SH|SS|PP|LP|P|HP|TQ|RE|RS|nf|EX)\b")
_FONT_MACRO = re.compile(r"^\.(B|I|BR|RB|IR|RI|BI|IB|SM|SB)\s+(.*)$")
_CUT = re.compile(r",|;|:| \(| when | if | unless | instead | rather than | so that | which | before | after | for example")
_OPTION = re.compile(r"--?[A-Za-z0-9][\w-]*")


def clean(line: str) -> str:
    """A troff text line as a reader sees it."""
    found = _FONT_MACRO.match(line)
    if found:
        parts = [part.strip('"') for part in re.findall(r'"[^"]*"|\S+', found.group(2))]
        line = ("" if len(found.group(1)) == 2 and found.group(1) not in ("SM", "SB") else " ").join(parts)
    line = _FONT.sub("", line)
    for escape, text in _ESCAPES.items():
        line = line.replace(escape, text)
    return re.sub(r"\s+", " ", _OTHER_ESCAPE.sub("", line)).strip()


def read_page(path: Path) -> tuple[str, list[tuple[str, str]], list[str]]:
    """(title, [(option term, description)], DESCRIPTION sentences) of one troff man page."""
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as file:
            raw = file.read()
    else:
        raw = path.read_text(errors="replace")
    lines = [line for line in raw.splitlines() if not line.startswith(('.\\"', "'\\\"", '\\"'))]
    section, title, options, prose = "", "", [], []
    k = 0
    while k < len(lines):
        line = lines[k]
        if line.startswith((".SH", ".SS")):
            heading = clean(line[3:].strip().strip('"')).upper()
            if line.startswith(".SH"):
                section = heading
            k += 1
            continue
        if section == "NAME" and not line.startswith(".") and not title:
            title = clean(line)
        if line.startswith(".TP") and k + 1 < len(lines):
            term = clean(lines[k + 1])
            body, k = _body(lines, k + 2)
            if term.startswith("-") and body:
                options.append((term, body))
            continue
        if line.startswith(".IP"):
            found = re.match(r'^\.IP\s+"([^"]*)"|^\.IP\s+(\S+)', line)
            term = clean((found.group(1) or found.group(2) or "") if found else "")
            body, k = _body(lines, k + 1)
            if term.startswith("-") and body:
                options.append((term, body))
            continue
        if section == "DESCRIPTION" and line and not line.startswith("."):
            prose.append(clean(line))
        elif section == "DESCRIPTION" and line.startswith((".PP", ".LP", ".P")):
            prose.append("\n")
        k += 1
    sentences = [s for chunk in " ".join(prose).split("\n") for s in split_sentences(chunk.strip()) if len(s.split()) >= 5]
    return title, options, sentences


def _body(lines: list[str], k: int) -> tuple[str, int]:
    """The description after an option's term: text lines up to the next block macro."""
    text = []
    while k < len(lines) and not _BLOCK_END.match(lines[k]):
        if not lines[k].startswith(".") or _FONT_MACRO.match(lines[k]):
            text.append(clean(lines[k]))
        k += 1
    return " ".join(t for t in text if t), k


def verb_phrase(sentence: str, table: dict) -> str | None:
    """The description's first clause as an infinitive ("Prints the version." -> "print the version"), or None
    when it does not open with a verb."""
    clause = _CUT.split(sentence.rstrip("."), maxsplit=1)[0].strip()
    words = clause.split()
    if not 2 <= len(words) <= 9 or not words[0][:1].isupper():
        return None
    first = words[0].lower()
    verb = next((lemma for lemma in lemmas(first, table) if "v" in table[lemma]), None)
    if verb is None or (verb != first and not first.endswith("s")):
        return None
    return " ".join([verb, *words[1:]])


def command_of(title: str, page: str) -> str:
    return (title.split(" - ")[0].split(",")[0].strip() or page).split()[0]


def questions(command: str, term: str, phrase: str | None, rng: random.Random) -> tuple[str, str]:
    """(question, its template) for one option."""
    options = _OPTION.findall(term)
    longest = max(options, key=len) if options else term.split()[0]
    kinds = ["how"] * 2 + ["what"] + ["can"] if phrase else ["what"]
    kind = rng.choice(kinds)
    if kind == "how":
        text = rng.choice(["how do i {p} with {c}?", "how can i {p} in {c}?", "how to {p} with {c}", "{c}: how do i {p}?"])
    elif kind == "can":
        text = rng.choice(["can {c} {p}?", "is there a way to {p} in {c}?"])
    else:
        text = rng.choice(["what does {o} do in {c}?", "what is the {o} option of {c} for?", "what does {c} {o} do"])
    return text.format(p=phrase or "", c=command, o=longest), kind


def groups_of(page: str, title: str, options: list[tuple[str, str]], prose: list[str], table: dict, rng: random.Random) -> Iterator[dict]:
    firsts = []
    for term, body in options:
        sentences = split_sentences(body)
        if sentences and 4 <= len(sentences[0].split()) <= 40 and sentences[0][:1].isupper():
            firsts.append((term, sentences[0]))
    if len(firsts) < 4:
        return
    command = command_of(title, page)
    shown_title = rng.choice([title, f"{page} Manual Page"]) if title else page
    texts = [f"{term} {sentence} [SEP] {shown_title}" for term, sentence in firsts]
    others = [f"{sentence} [SEP] {shown_title}" for sentence in prose]
    bm25 = BM25Okapi([tokenize(t) or ["_"] for t in texts + others])
    for i, (term, sentence) in enumerate(firsts):
        phrase = verb_phrase(sentence, table)
        question, kind = questions(command, term, phrase, rng)
        scores = bm25.get_scores(tokenize(question))
        positive = set(tokenize(sentence))
        ranked = [j for j in sorted(range(len(scores)), key=lambda j: -scores[j]) if j != i]
        negatives = []
        for j in ranked:
            text = (texts + others)[j]
            words = set(tokenize(text.split(" [SEP] ")[0]))
            if len(words & positive) / max(1, len(words | positive)) > 0.6 or text in negatives:
                continue  # a near copy (an alias described twice) may answer too
            negatives.append(text)
            if len(negatives) == NEGATIVES - 1:
                break
        spare = [t for j, t in enumerate(texts) if j != i and t not in negatives]
        if spare:
            negatives.append(rng.choice(spare))
        group = {"q": question, "pos": [texts[i]], "neg": negatives, "source": f"manpage:{page}:{kind}"}
        if rng.random() < UNANSWERED_SHARE:
            yield {**group, "pos": [], "neg": negatives[:4], "source": group["source"] + ":unanswered"}
            continue
        if kind != "what" and rng.random() < REWORDED_SHARE:
            group = reword_group(group, table, rng) or group
        if rng.random() < LOWERCASE_SHARE:
            group = {**group, "q": group["q"].lower().rstrip("?")}
        yield group


def owners(info: Path = Path("/var/lib/dpkg/info")) -> dict[str, str]:
    """Each installed file's package, from dpkg's file lists."""
    found = {}
    for listing in info.glob("*.list"):
        package = listing.stem.split(":")[0]
        for line in listing.read_text(errors="replace").splitlines():
            found[line] = package
    return found


def pages(man: Path, debs: Path | None) -> Iterator[tuple[Path, str]]:
    """(page, package) for sections 1 and 8 of the installed man folder, then of each package unpacked in `debs`
    (debs/<package>/ as `dpkg-deb -x` leaves it)."""
    package_of = owners()
    for path in sorted(p for folder in ("man1", "man8") for p in (man / folder).glob("*")):
        if path.is_file() and not path.is_symlink():
            yield path, package_of.get(str(path), "unknown")
    for root in sorted(debs.iterdir()) if debs else ():
        for path in sorted(p for folder in ("man1", "man8") for p in (root / "usr/share/man" / folder).glob("*")):
            if path.is_file() and not path.is_symlink():
                yield path, root.name


def licence(package: str, debs: Path | None) -> str:
    unpacked = debs / package / "usr/share/doc" / package / "copyright" if debs else None
    copyright_file = unpacked if unpacked and unpacked.exists() else Path("/usr/share/doc") / package / "copyright"
    try:
        text = copyright_file.read_text(errors="replace")
    except OSError:
        return "unknown (no copyright file)"
    found = re.findall(r"^License:\s*(\S.*)$", text, re.MULTILINE)
    return ", ".join(dict.fromkeys(f.strip() for f in found)) or "stated in /usr/share/doc/" + package + "/copyright"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--man", type=Path, default=Path("/usr/share/man"))
    parser.add_argument("--debs", type=Path, help="a folder of Debian packages unpacked one a folder (dpkg-deb -x X.deb debs/<package>)")
    parser.add_argument("--synonyms", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--sources", type=Path, required=True)
    parser.add_argument("--max-groups", type=int, default=0)
    args = parser.parse_args()
    table = json.loads(args.synonyms.read_text(encoding="utf-8"))
    rng = random.Random(SEED)
    written, used, seen = [], [], set()
    for path, package in pages(args.man, args.debs):
        page = path.name.removesuffix(".gz")
        if EXCLUDED_PACKAGES.match(package) or package == "unknown" or page in seen:
            continue
        seen.add(page)
        try:
            title, options, prose = read_page(path)
        except (OSError, EOFError, UnicodeError):
            continue
        found = list(groups_of(page, title, options, prose, table, rng))
        if found:
            rng.shuffle(found)
            written.extend((package, group) for group in found[:PER_PAGE])
            used.append((page, package))
    rng.shuffle(written)
    per_package: dict[str, int] = {}
    capped = []
    for package, group in written:
        per_package[package] = per_package.get(package, 0) + 1
        if per_package[package] <= PER_PACKAGE:
            capped.append(group)
    others = sum(1 for g in capped if ":what" not in g["source"])
    what = [g for g in capped if ":what" in g["source"]][: int(WHAT_SHARE * others)]
    written = [g for g in capped if ":what" not in g["source"]] + what
    rng.shuffle(written)
    if args.max_groups:
        written = written[: args.max_groups]
    kept_pages = {g["source"].split(":")[1] for g in written}
    with args.out.open("w", encoding="utf-8") as out:
        for group in written:
            out.write(json.dumps(group, ensure_ascii=False) + "\n")
    licences = {package: licence(package, args.debs) for _, package in used}
    with args.sources.open("w", encoding="utf-8") as out:
        out.write("page\tpackage\tlicence\n")
        for page, package in used:
            if page in kept_pages:
                out.write(f"{page}\t{package}\t{licences[package]}\n")
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    packages = {package for page, package in used if page in kept_pages}
    print(f"{len(written)} groups from {len(kept_pages)} pages of {len(packages)} packages -> {args.out} (sha256 {digest})")


if __name__ == "__main__":
    main()
