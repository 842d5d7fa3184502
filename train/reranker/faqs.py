"""Reranker groups from software projects' FAQ pages: human-written help questions and their answers.

Why: the bot is asked how-to and why-questions about software documentation, and the reranker has
only seen SQuAD and WikiQA (encyclopedia questions, SQuAD's written while looking at the answer).
SQuAD-like data has stopped helping and templated questions built from man pages hurt (README,
round 7). An FAQ page is the closest thing to the real task that people wrote themselves: its
headings are questions users asked ("How do I search compressed files?", "Why does ... fail?")
and the paragraph under each is the maintainers' answer, in the project's own documentation prose.

Input: a folder of FAQ files, one per repository (`<owner>+<name>.md` or `.rst`, several FAQ pages
of one repository joined), and its `manifest.tsv` (file, repo, commit, paths, format, project,
licence), as `faq_collect.py` writes them; see faq-sources.tsv for what was collected. Output:
JSON lines in data.py's format, {"q": str, "pos": [str], "neg": [str], "source": "faq:<owner>/<name>"},
each sentence shown as "<sentence> [SEP] <project> FAQ".

- Question: a heading (Markdown `#`, HTML `<hN>`, reStructuredText underlined title), a definition
  list's term, a line of bold text or a `Q:` line, as written, when it ends with a question mark;
  Sphinx's "How do I..." / "... get section numbers?" style is joined into one question. Other
  headings are not questions and only end the answer before them.
- Positives: the first prose sentence of the answer (the bot's splitter), and the second as well
  when the first is under 8 words ("Yes.", "No, it does not.") or ends with a colon. Code blocks,
  lists, tables, directives and admonitions are not prose; an answer whose first two blocks hold no
  prose (a code- or list-only answer) gives no group. "**Answer:**"/"A:" prefixes are dropped.
  An answer that is a bare "Yes."/"No." and nothing more gives no group.
- Negatives: up to 7 prose sentences from the OTHER answers of the same FAQ, the 5 best BM25 matches
  for the question first (rank_bm25 over the bot's tokenizer, as data.py), then 2 at random; never a
  sentence that also occurs in the question's own answer.
- About 15% of groups (by the seeded stream) are unanswerable: positives removed, the 4 best BM25
  negatives kept.
- A repository gives at most 100 groups (--max-per-repo; Cypress's FAQ has about 440 questions), a
  seeded sample of its usable questions in page order.

Seeded (random.Random(20261205)) and deterministic; prints the number of groups and the output's
sha256.

    PYTHONPATH=.:train/reranker python train/reranker/faqs.py /work/train/faq --out faq-groups.jsonl \
        [--sources train/reranker/faq-sources.tsv] [--show 10] [--without-held-out]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
from dataclasses import dataclass, field
from pathlib import Path

from rank_bm25 import BM25Okapi

from bot.search.index.tokens import tokenize
from bot.search.read.sentences import split_sentences

SEED = 20261205
NEGATIVES = 7
BM25_NEGATIVES = 5
UNANSWERABLE_NEGATIVES = 4
UNANSWERABLE_SHARE = 0.15
MAX_PER_REPO = 100  # a repository with more usable questions (Cypress has ~440) gives a seeded sample of this many
# Repositories kept out of training (--without-held-out) so combine.py --faq can fit the threshold on
# help questions of the same kind that the model never saw; chosen by a hash of the name, not by hand.
HELD_OUT_PERCENT = 20
SHORT_FIRST_WORDS = 8
MIN_SENTENCE_WORDS = 3


@dataclass
class QA:
    question: str
    paragraphs: list[str] = field(default_factory=list)  # prose paragraphs of the answer, cleaned
    leading: list[str] = field(default_factory=list)  # kinds of the answer's first blocks


# ---------------------------------------------------------------- inline markup

_MD_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_MD_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_MD_REF_LINK = re.compile(r"\[([^\]]+)\]\[[^\]]*\]")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_RST_ROLE = re.compile(r":[\w:.+-]+:`([^`]*)`")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^`>]*>`__?")
_RST_REF = re.compile(r"`([^`]+)`__?")
_RST_LITERAL = re.compile(r"``([^`]*)``")
_FOOTNOTE = re.compile(r"\s*\[(?:#\w*|\d+|\*)\]_")
_ANCHOR = re.compile(r"\s*\{:?\s*#[^}]*\}\s*$")
_EMPHASIS = re.compile(r"(\*\*|__)(.+?)\1|(?<![\w*])\*(?!\s)([^*]+?)\*(?![\w*])|(?<![\w_])_(?!\s)([^_]+?)_(?![\w_])")
_ANSWER_PREFIX = re.compile(r"^(?:\*\*|__)?(?:a|answer|r)\s*[:.)]\s*(?:\*\*|__)?\s*", re.IGNORECASE)
_ASKS = re.compile(r"^(?:how|why|what|when|where|which|who|can|could|does|do|is|are|should|will|would|am|has|have|i|my)\b", re.IGNORECASE)
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*[.)]?|[A-Z][.)])\s+")
_QUESTION_PREFIX = re.compile(r"^(?:\*\*|__)?(?:q|question)\s*[:.)]\s*(?:\*\*|__)?\s*", re.IGNORECASE)


def _role(match: re.Match) -> str:
    inner = match.group(1)
    title = re.match(r"(.*?)\s*<[^>]*>$", inner)
    inner = title.group(1) if title and title.group(1) else inner
    return re.sub(r"^_?\w+\.(?=[A-Z])|^\.", "", inner.lstrip("~!"))


def clean(text: str) -> str:
    """A line of Markdown or reStructuredText as the rendered page shows it."""
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _MD_REF_LINK.sub(r"\1", text)
    text = _HTML_TAG.sub("", text)
    text = re.sub(r"\{[\w:.-]+\}(?=`)", "", text)  # MyST role
    text = _RST_ROLE.sub(_role, text)
    text = _RST_LITERAL.sub(r"\1", text)
    text = _RST_LINK.sub(r"\1", text)
    text = _RST_REF.sub(r"\1", text)
    text = _FOOTNOTE.sub("", text)
    text = re.sub(r"\|(\w[\w .-]*)\|(?!\w)", r"\1", text)  # reST substitution
    text = text.replace("`", "")
    text = _EMPHASIS.sub(lambda m: m.group(2) or m.group(3) or m.group(4), text)
    text = re.sub(r"\{\{[<%].*?[%>]\}\}", "", text)
    text = re.sub(r"(?<=\w)_(?=[\s.,;:)]|$)", "", text)  # rst reference "name_"
    text = re.sub(r"\\([\\`*_{}\[\]()#+\-.!|<>~])", r"\1", text)  # Markdown escapes
    text = _ANCHOR.sub("", text)
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r"(?<=[\w)]) +([,.;:])(?=\s|$)", r"\1", text)


_NOT_ASKED = re.compile(r"^(?:something to add|any (?:other |more )?questions|still have questions|have (?:a|another) question|"
                        r"need (?:more )?help|want to contribute|questions?)\b", re.IGNORECASE)


def is_question(text: str) -> bool:
    return (text.endswith("?") and 2 <= len(text.split()) <= 40 and not text.startswith(("http", "<", "!", "{"))
            and not _NOT_ASKED.match(text))


# ---------------------------------------------------------------- blocks

_FENCE = re.compile(r"^\s*(```+|~~~+)")
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_HTML_HEADING = re.compile(r"^\s*<h[1-6][^>]*>(.*?)(</h[1-6]>)?\s*$", re.IGNORECASE)
_SUMMARY = re.compile(r"^\s*<summary>(.*?)</summary>\s*$", re.IGNORECASE)
_LIST = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)]|#\.)\s+")
_UNDERLINE = re.compile(r"^([=\-~^\"'`#*+:.<>_])\1{2,}\s*$")
_BOLD_LINE = re.compile(r"^\s*(?:\*\*|__)(.+?)(?:\*\*|__)\s*$")
_RST_DIRECTIVE = re.compile(r"^\s*\.\.\s+(?:[\w:-]+::|_|\||\[)")
_OTHER_START = ("|", ">", ":::", "import ", "export ", "<", "{{", "{%", "!!!", "???", "+--", "$$", "---")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


_ADMONITION_QUESTION = re.compile(r'^[?!]{3}\+?\s+(?:question|faq|info|note)\s+"(.+)"\s*$', re.IGNORECASE)


def _unfold(lines: list[str]) -> list[str]:
    """Markdown shapes that carry a question, rewritten as a heading and plain paragraphs:
    a titled admonition (`??? question "How do I ...?"` with its indented body) and a definition
    list's term (a line followed by `: answer`, its continuation indented two spaces)."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        titled = _ADMONITION_QUESTION.match(line.strip())
        if titled and _indent(line) == 0:
            out += ["", "#### " + titled.group(1), ""]
            i += 1
            while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) >= 4):
                out.append(lines[i][4:])
                i += 1
            continue
        if line.strip() and _indent(line) == 0 and i + 1 < len(lines) and re.match(r"^:\s+\S", lines[i + 1]):
            out += ["", "#### " + line.strip(), "", re.sub(r"^:\s+", "", lines[i + 1])]
            i += 2
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("  ")):
                out.append(lines[i][2:])
                i += 1
            continue
        out.append(line)
        i += 1
    return out


def blocks(text: str, fmt: str) -> list[tuple[str, str]]:
    """(kind, text): kind is heading, term, para, code, list or other; para/term/heading text is cleaned."""
    if fmt == "md":
        text = re.sub(r"\{/\*.*?\*/\}", "", text, flags=re.DOTALL)  # MDX comment
        # reference-style links ("[Header]" with "[Header]: https://..." further down) show their text
        for label in sorted(set(re.findall(r"^ {0,3}\[([^\]^]+)\]:\s+\S", text, flags=re.MULTILINE)), key=lambda x: (-len(x), x)):
            text = re.sub(r"\[" + re.escape(label) + r"\](?![(\[:])", lambda _m, label=label: label, text)
    lines = text.replace("\t", "    ").splitlines()
    if fmt == "md":
        lines = _unfold(lines)
    out: list[tuple[str, str]] = []
    i, n = 0, len(lines)
    if n and lines[0].strip() == "---":  # front matter
        end = next((j for j in range(1, n) if lines[j].strip() == "---"), 0)
        i = end + 1
    literal_next = False  # rst: the paragraph before ended with "::"
    while i < n:
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
            continue
        # fenced code
        fence = _FENCE.match(line)
        if fence:
            mark = fence.group(1)[:3]
            j = i + 1
            while j < n and not lines[j].strip().startswith(mark):
                j += 1
            out.append(("code", ""))
            i = j + 1
            literal_next = False
            continue
        # rst literal block / indented code after "::"
        if literal_next and _indent(line) > 0:
            j = i
            while j < n and (not lines[j].strip() or _indent(lines[j]) > 0):
                j += 1
            out.append(("code", ""))
            i = j
            literal_next = False
            continue
        literal_next = False
        # rst directive, comment or target, with its indented body
        if fmt == "rst" and _RST_DIRECTIVE.match(line):
            base = _indent(line)
            j = i + 1
            while j < n and (not lines[j].strip() or _indent(lines[j]) > base):
                j += 1
            out.append(("other", ""))
            i = j
            continue
        # rst section title (optional overline)
        if _UNDERLINE.match(stripped) and i + 2 < n and _UNDERLINE.match(lines[i + 2].strip()) and lines[i + 1].strip():
            out.append(("heading", clean(lines[i + 1])))
            i += 3
            continue
        if i + 1 < n and _UNDERLINE.match(lines[i + 1].strip()) and len(lines[i + 1].strip()) >= min(3, len(stripped)) \
                and not _UNDERLINE.match(stripped) and _indent(line) == 0 \
                and (not _LIST.match(line) or len(lines[i + 1].strip()) >= 0.7 * len(stripped)):
            out.append(("heading", clean(stripped)))
            i += 2
            continue
        heading = _MD_HEADING.match(line) if fmt == "md" else None
        if heading:
            out.append(("heading", clean(heading.group(2))))
            i += 1
            continue
        html_heading = _HTML_HEADING.match(line)
        if html_heading:
            if html_heading.group(2):
                out.append(("heading", clean(html_heading.group(1))))
                i += 1
                continue
            j, words = i + 1, [html_heading.group(1)]
            while j < n and not re.search(r"</h[1-6]>", lines[j], re.IGNORECASE):
                words.append(lines[j])
                j += 1
            if j < n:
                words.append(re.sub(r"</h[1-6]>.*", "", lines[j], flags=re.IGNORECASE))
            out.append(("heading", clean(" ".join(words))))
            i = j + 1
            continue
        summary = _SUMMARY.match(line)
        if summary:
            out.append(("heading", clean(summary.group(1))))
            i += 1
            continue
        if _LIST.match(line):
            base = _indent(line)
            j = i + 1
            while j < n and lines[j].strip() and (_indent(lines[j]) > base or _LIST.match(lines[j])):
                j += 1
            # continuation paragraphs of the list (indented after a blank line) belong to it
            while j < n:
                k = j
                while k < n and not lines[k].strip():
                    k += 1
                if k < n and (_indent(lines[k]) > base >= 0 and _indent(lines[k]) >= 2 or _LIST.match(lines[k]) and _indent(lines[k]) == base):
                    j = k + 1
                    while j < n and lines[j].strip() and (_indent(lines[j]) > base or _LIST.match(lines[j])):
                        j += 1
                else:
                    break
            out.append(("list", ""))
            i = j
            continue
        if stripped.startswith(("{{", "{%")) or re.match(r"^</?\w+[^>]*>$", stripped) \
                or (fmt == "md" and re.match(r"^\[[^\]]+\]:\s+\S+", stripped)):  # a link definition
            out.append(("other", ""))
            i += 1
            continue
        if stripped.startswith(">") and not re.match(r"^>\s*\[!", stripped):
            j, quoted = i, []
            while j < n and lines[j].strip().startswith(">"):
                quoted.append(lines[j].strip().lstrip(">").strip())
                j += 1
            for chunk in "\n".join(quoted).split("\n\n"):
                if chunk.strip() and not _LIST.match(chunk.strip()):
                    out.append(("para", clean(_ANSWER_PREFIX.sub("", clean(chunk)))))
            i = j
            continue
        if (stripped.startswith(_OTHER_START) or stripped.endswith(("/>", "}}"))) \
                and not (stripped.startswith("<a ") and len(clean(stripped).split()) >= 3):
            j = i + 1
            while j < n and lines[j].strip():
                j += 1
            out.append(("other", ""))
            i = j
            continue
        if fmt == "md" and _indent(line) >= 4 and (not out or out[-1][0] != "list"):
            j = i
            while j < n and (not lines[j].strip() or _indent(lines[j]) >= 4):
                j += 1
            out.append(("code", ""))
            i = j
            continue
        # rst definition list: an unindented line followed at once by indented lines
        if fmt == "rst" and _indent(line) == 0 and i + 1 < n and lines[i + 1].strip() and _indent(lines[i + 1]) > 0 \
                and not stripped.endswith("::"):
            out.append(("term", clean(stripped)))
            i += 1
            continue
        # paragraph
        j = i
        para: list[str] = []
        base = _indent(line)
        while j < n and lines[j].strip() and not _FENCE.match(lines[j]) and not (j > i and _LIST.match(lines[j])) \
                and not (fmt == "md" and _MD_HEADING.match(lines[j])) and not (j > i and _indent(lines[j]) != base and fmt == "rst") \
                and not (j + 1 < n and j > i and _UNDERLINE.match(lines[j + 1].strip())) \
                and not lines[j].strip().startswith(("{{", "{%")):
            para.append(lines[j].strip())
            j += 1
        raw = " ".join(para)
        if fmt == "rst" and raw.endswith("::"):
            literal_next = True
            raw = raw[:-2].rstrip() + ("" if raw.endswith(" ::") else ":")
            raw = raw.removesuffix(" ::")
        bold = _BOLD_LINE.match(raw)
        cleaned = clean(raw)
        q_line = _QUESTION_PREFIX.match(cleaned)
        if bold and is_question(clean(bold.group(1))):
            out.append(("heading", clean(bold.group(1))))
        elif q_line and is_question(cleaned[q_line.end():]):
            out.append(("heading", cleaned[q_line.end():]))
        elif len(para) == 1 and _ASKS.match(cleaned) and is_question(cleaned) and len(cleaned.split()) <= 25:
            out.append(("heading", cleaned))
        elif cleaned:
            out.append(("para", clean(_ANSWER_PREFIX.sub("", cleaned))))
        i = max(j, i + 1)
    return out


def read_faq(text: str, fmt: str) -> list[QA]:
    """The question-and-answer pairs of one FAQ file, in order."""
    qas: list[QA] = []
    current: QA | None = None
    last_heading = ""
    for kind, content in blocks(text, fmt):
        if kind in ("heading", "term"):
            question = _NUMBERING.sub("", _QUESTION_PREFIX.sub("", content))
            if question.startswith(("...", "…")) and last_heading.endswith(("...", "…")):
                question = last_heading.rstrip(".…").strip() + " " + question.lstrip(".…").strip()
            if kind == "heading":
                last_heading = content
            if is_question(question):
                current = QA(question)
                qas.append(current)
            elif kind == "heading":
                current = None
            continue
        if current is None:
            continue
        if len(current.leading) < 2:
            current.leading.append(kind)
        if kind == "para" and content:
            current.paragraphs.append(content)
    return qas


def _answering(sentence: str) -> bool:
    """Not a question back or a "Related: How do I ...?" line (a "See <question title>?" reference answers)."""
    lowered = sentence.lower()
    if lowered.startswith("related:") or re.match(r"^\[[^\]]+\]:\s", sentence):  # or a link definition
        return False
    return not sentence.rstrip(".").endswith("?") or lowered.startswith(("see ", "please see ", "refer to "))


def sentences_of(paragraphs: list[str]) -> list[str]:
    return [s for p in paragraphs for s in split_sentences(p) if _answering(s)]


def positives(qa: QA) -> list[str]:
    """The answer's first one or two prose sentences; empty when it has none up front."""
    if "para" not in qa.leading or not qa.paragraphs:
        return []
    first_paragraph = [s for s in split_sentences(qa.paragraphs[0]) if _answering(s)]
    if not first_paragraph:
        return []
    chosen = [first_paragraph[0]]
    rest = first_paragraph[1:] or sentences_of(qa.paragraphs[1:2])
    if rest and (len(chosen[0].split()) < SHORT_FIRST_WORDS or chosen[0].endswith(":")):
        chosen.append(rest[0])
    if sum(len(s.split()) for s in chosen) < MIN_SENTENCE_WORDS:
        return []
    return chosen


# ---------------------------------------------------------------- groups


def held_out_faq(repo: str) -> bool:
    """Whether a repository's FAQ is kept for calibration (about HELD_OUT_PERCENT of them)."""
    return int(hashlib.sha256(repo.encode()).hexdigest(), 16) % 100 < HELD_OUT_PERCENT


def read_manifest(folder: Path) -> list[dict]:
    lines = (folder / "manifest.tsv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split("\t")
    return [dict(zip(header, line.split("\t"))) for line in lines[1:] if line.strip()]


def shown(sentence: str, title: str) -> str:
    return f"{sentence} [SEP] {title}"


def faq_groups(folder: Path, rng: random.Random, max_per_repo: int = MAX_PER_REPO) -> tuple[list[dict], dict[str, int]]:
    groups: list[dict] = []
    counts: dict[str, int] = {}
    for entry in read_manifest(folder):
        qas = read_faq((folder / entry["file"]).read_text(encoding="utf-8"), entry["format"])
        title = f"{entry['project']} FAQ"
        answers = [sentences_of(qa.paragraphs) for qa in qas]
        pool = [(i, s) for i, sents in enumerate(answers) for s in sents if len(s.split()) >= MIN_SENTENCE_WORDS]
        bm25 = BM25Okapi([tokenize(s) or ["_"] for _, s in pool]) if pool else None
        made = 0
        usable = [i for i, qa in enumerate(qas) if positives(qa)]
        if len(usable) > max_per_repo:
            usable = sorted(rng.sample(usable, max_per_repo))
        for i in usable:
            qa = qas[i]
            pos = positives(qa)
            if bm25 is None:
                continue
            own = set(answers[i]) | set(pos)
            candidates = [k for k, (j, s) in enumerate(pool) if j != i and s not in own]
            if not candidates:
                continue
            scores = bm25.get_scores(tokenize(qa.question) or ["_"])
            ranked = sorted(candidates, key=lambda k: (-scores[k], k))
            seen: set[str] = set()
            best = []
            for k in ranked:
                if pool[k][1] not in seen:
                    seen.add(pool[k][1])
                    best.append(pool[k][1])
            unanswerable = rng.random() < UNANSWERABLE_SHARE
            if unanswerable:
                neg = best[:UNANSWERABLE_NEGATIVES]
                pos_shown: list[str] = []
            else:
                neg = best[:BM25_NEGATIVES]
                rest = best[BM25_NEGATIVES:]
                neg += rng.sample(rest, min(NEGATIVES - len(neg), len(rest)))
                pos_shown = [shown(s, title) for s in pos]
            groups.append({"q": qa.question, "pos": pos_shown, "neg": [shown(s, title) for s in neg],
                           "source": f"faq:{entry['repo']}"})
            made += 1
        counts[entry["repo"]] = made
    return groups, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder", type=Path, help="collected FAQ files and their manifest.tsv")
    parser.add_argument("--out", type=Path, default=Path("faq-groups.jsonl"))
    parser.add_argument("--sources", type=Path, help="write repo, commit, path, licence, pairs as TSV here")
    parser.add_argument("--max-per-repo", type=int, default=MAX_PER_REPO)
    parser.add_argument("--show", type=int, default=0, help="print this many random groups")
    parser.add_argument("--without-held-out", action="store_true", help="leave out the repositories combine.py --faq calibrates on")
    args = parser.parse_args()

    groups, counts = faq_groups(args.folder, random.Random(SEED), args.max_per_repo)
    if args.without_held_out:  # the same groups as without the flag, less the held-out repositories'
        groups = [g for g in groups if not held_out_faq(g["source"].removeprefix("faq:"))]
        counts = {repo: made for repo, made in counts.items() if not held_out_faq(repo)}
    data = "".join(json.dumps(g, ensure_ascii=False) + "\n" for g in groups).encode("utf-8")
    args.out.write_bytes(data)
    answerable = sum(1 for g in groups if g["pos"])
    print(f"{len(groups)} groups ({answerable} answerable, {len(groups) - answerable} unanswerable) "
          f"from {sum(1 for c in counts.values() if c)} repositories -> {args.out}")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}")
    if args.sources:
        rows = ["repo\tcommit\tpath\tlicence\tpairs"]
        for entry in read_manifest(args.folder):
            if counts.get(entry["repo"]):
                rows.append("\t".join([entry["repo"], entry["commit"], entry["paths"], entry["licence"],
                                       str(counts[entry["repo"]])]))
        args.sources.write_text("\n".join(rows) + "\n", encoding="utf-8")
    for group in random.Random(SEED + 1).sample(groups, min(args.show, len(groups))):
        print(json.dumps(group, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
