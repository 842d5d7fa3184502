"""Which files of a corpus folder are articles: the folder and its subfolders, read as a site.

A documentation build or a saved mirror keeps its pages in subfolders (`library/`, `howto/`), so
the folder is walked recursively and an article is named by its path relative to the corpus
folder (`library/asyncio.html`): two pages called `index.html` stay two articles. A site also
holds pages its generator made for browsing, not reading (the search page, the general and module
indexes, static assets, the page sources Sphinx copies beside the HTML); those, hidden files and
anything the operator's ignore patterns name are skipped and counted, never read.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

# Pages documentation generators write for navigation (Sphinx's search, genindex and py-modindex,
# also split per letter as genindex-A.html) and the folders of assets and copied sources beside them.
GENERATED_PAGES = ("search", "genindex", "genindex-*", "py-modindex", "modindex")
GENERATED_FOLDERS = ("_static", "_sources", "_images", "_downloads")


class FolderError(OSError):
    """The corpus folder itself cannot be listed."""


@dataclass
class Listing:
    """The files found and those skipped on purpose, by reason: paths relative to the folder, "/"-separated,
    as strings (a PurePosixPath for each of 25,000 files was half of deciding a saved index is still valid)."""

    files: list[str] = field(default_factory=list)  # sorted folder by folder
    generated: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    unreadable: list[OSError] = field(default_factory=list)  # subfolders that could not be listed

    def skipped_note(self, setting: str) -> str | None:
        """One line saying what was skipped, or None when nothing was."""
        parts = []
        if self.generated:
            parts.append(f"{_count(self.generated, 'generated page or asset', 'generated pages or assets')} ({_examples(self.generated)})")
        if self.ignored:
            parts.append(f"{_count(self.ignored, 'file', 'files')} matching {setting} ({_examples(self.ignored)})")
        return f"skipped {' and '.join(parts)}" if parts else None


def list_site(folder: Path, ignore: Sequence[str] = ()) -> Listing:
    """Every file under `folder` that could be an article, walking subfolders; FolderError if it cannot be listed.

    A generated folder or an ignored folder counts as one skip, not as each of its files.
    Links to folders are not followed, so a link loop cannot make the walk endless.
    """
    try:
        next(folder.iterdir(), None)  # the folder itself must be listable; a subfolder that is not is a warning
    except OSError as error:
        raise FolderError(error.errno, error.strerror, str(folder)) from None
    listing = Listing()
    for root, folders, files in os.walk(folder, onerror=listing.unreadable.append):
        here = os.path.relpath(root, folder)
        prefix = "" if here == os.curdir else here.replace(os.sep, "/") + "/"
        kept = []
        for name in sorted(folders):
            path = prefix + name
            if name.startswith("."):
                continue
            if name in GENERATED_FOLDERS:
                listing.generated.append(path)
            elif _ignored(path, name, ignore):
                listing.ignored.append(path)
            else:
                kept.append(name)
        folders[:] = kept
        for name in sorted(files):
            path = prefix + name
            if name.startswith("."):
                continue
            if _generated_page(name):
                listing.generated.append(path)
            elif _ignored(path, name, ignore):
                listing.ignored.append(path)
            else:
                listing.files.append(path)
    listing.files.sort(key=lambda path: path.split("/"))
    return listing


def _generated_page(name: str) -> bool:
    lowered = name.lower()
    if not lowered.endswith((".html", ".htm")):
        return False
    return any(fnmatch.fnmatch(os.path.splitext(lowered)[0], page) for page in GENERATED_PAGES)


def _ignored(path: str, name: str, patterns: Sequence[str]) -> bool:
    """Whether an ignore pattern names this path or its file name (`*.txt`, `whatsnew/*`, `changelog.html`)."""
    return any(fnmatch.fnmatch(path, pattern.strip("/")) or fnmatch.fnmatch(name, pattern) for pattern in patterns)


def _count(paths: list[str], one: str, many: str) -> str:
    return f"1 {one}" if len(paths) == 1 else f"{len(paths):,} {many}"


def _examples(paths: list[str], shown: int = 3) -> str:
    names = ", ".join(paths[:shown])
    return names + (", …" if len(paths) > shown else "")
