"""Reading a whole corpus folder at once, for tests that look at every document and warning together.

The bot reads a folder one article at a time (`read_folder`); these tests want the finished list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bot.search.read.corpus import MAX_FILE_BYTES, Document, read_folder


@dataclass
class Loaded:
    documents: list[Document]
    warnings: list[str]


def load_folder(folder: Path, *, max_bytes: int = MAX_FILE_BYTES, ignore: Sequence[str] = ()) -> Loaded:
    """Every article under `folder`, with the warnings reading them gave."""
    articles = read_folder(folder, max_bytes=max_bytes, ignore=ignore)
    return Loaded(list(articles), articles.warnings)
