"""Collect FAQ pages from mirrored repositories into one folder for faqs.py.

Reads a candidates TSV (repo, space-separated paths or globs at the snapshot's HEAD, project name,
licence as the repository's LICENSE file states it) and the git directories `fetch` mirrored under
MIRROR/<owner>+<name>/repo, and writes OUT/<owner>+<name>.<md|rst> (a repository's several FAQ files
joined, in path order) and OUT/manifest.tsv (file, repo, commit, paths, format, project, licence).
A path written `README.md#FAQ` keeps only that top-level section of the file.

    python train/reranker/faq_collect.py CANDIDATES.tsv /work/.mirror /work/train/faq
"""

from __future__ import annotations

import fnmatch
import subprocess
import sys
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout


def section(text: str, title: str) -> str:
    """The `# title` section of a Markdown file, up to the next top-level heading."""
    out, inside = [], False
    for line in text.splitlines():
        if line.startswith("# "):
            inside = line[2:].strip() == title
        if inside:
            out.append(line)
    return "\n".join(out) + "\n"


def main(candidates: Path, mirror: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    manifest = ["file\trepo\tcommit\tpaths\tformat\tproject\tlicence"]
    for line in candidates.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        repo, specs, project, licence = line.split("\t")
        git_dir = mirror / repo.replace("/", "+") / "repo"
        commit = git(git_dir, "rev-parse", "HEAD").strip()
        tree = git(git_dir, "ls-tree", "-r", "--name-only", commit).splitlines()
        paths, texts = [], []
        for spec in specs.split():
            pattern, _, cut = spec.partition("#")
            for path in sorted(p for p in tree if fnmatch.fnmatchcase(p, pattern)):
                text = git(git_dir, "show", f"{commit}:{path}")
                texts.append(section(text, cut) if cut else text)
                paths.append(spec if cut else path)
        if not paths:
            print(f"{repo}: no file matches {specs}", file=sys.stderr)
            continue
        fmt = "rst" if paths[0].endswith((".rst", ".txt")) else "md"
        name = f"{repo.replace('/', '+')}.{fmt}"
        (out / name).write_text("\n\n".join(texts), encoding="utf-8")
        manifest.append("\t".join([name, repo, commit, ",".join(paths), fmt, project, licence]))
    (out / "manifest.tsv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    print(f"{len(manifest) - 1} repositories written to {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
