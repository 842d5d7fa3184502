"""Rebuild a help-documentation folder's corpus from Debian: the package at the recorded version, checked by its
sha256, and the pages that were kept (helpdocs/PACKAGE/pages.txt), copied with their subfolders.

    python train/reranker/helpdocs_fetch.py train/reranker/helpdocs/python-kombu-doc OUT_FOLDER

OUT_FOLDER then holds corpus/ and questions.jsonl, what helpdocs.py reads. Needs `apt-get download` (Debian 12's
archive; an older point release's package is on snapshot.debian.org) and `dpkg-deb`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import tempfile
from pathlib import Path


def fetch(recorded: Path, out: Path) -> None:
    source = json.loads((recorded / "source.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(["apt-get", "download", f"{source['package']}={source['version']}"], cwd=work, check=True)
        (deb,) = Path(work).glob("*.deb")
        digest = hashlib.sha256(deb.read_bytes()).hexdigest()
        if digest != source["deb_sha256"]:
            raise SystemExit(f"{deb.name}: sha256 {digest}, recorded {source['deb_sha256']}")
        subprocess.run(["dpkg-deb", "-x", str(deb), str(Path(work) / "x")], check=True)
        root = Path(work) / "x" / source["html_root"]
        for page in (recorded / "pages.txt").read_text(encoding="utf-8").split():
            target = out / "corpus" / page
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(root / page, target)  # follows a symbolic link, as cp -L did
    shutil.copyfile(recorded / "questions.jsonl", out / "questions.jsonl")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recorded", type=Path, help="train/reranker/helpdocs/PACKAGE")
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    fetch(args.recorded, args.out)


if __name__ == "__main__":
    main()
