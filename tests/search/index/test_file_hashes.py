"""Whether a saved index is still valid is decided from each file's stat, as git's index does.

A file is read again only when its size, modification or change time moved, or when it was
modified so close to the last check that an edit in the same timestamp tick could hide ("racy git").
"""

import json
import os
import time
from pathlib import Path

import pytest

from bot.search import cache
from bot.search.engine import Engine, SearchSettings
from bot.search.index.file_hashes import RACY_WINDOW_NS, RECORD_FILE, FileHashes

STALE = "the articles or settings changed since the index was saved; rebuilt it"


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text("Lighthouses guide ships along rocky coasts at night.", encoding="utf-8")
    (folder / "b.txt").write_text("Foghorns warn ships when the fog rolls in.", encoding="utf-8")
    return folder


SETTLED_NS = 1_600_000_000_000_000_000  # September 2020


def _settled(corpus: Path) -> None:
    """Date every file well before now, so the record's hashes are not racily clean."""
    for path in corpus.iterdir():
        os.utime(path, ns=(SETTLED_NS, SETTLED_NS))


def _hashes(corpus: Path, record: Path, clock_ns: int | None = None) -> FileHashes:
    """One pass over the corpus, as `cache.fingerprint` makes it; returns it to see what it read."""
    hashes = FileHashes(corpus, record, clock=time.time_ns if clock_ns is None else lambda: clock_ns)
    for path in sorted(corpus.iterdir()):
        hashes.digest(path.name, path.stat())
    hashes.save()
    return hashes


def test_a_second_pass_reads_no_file_whose_stat_is_unchanged(corpus: Path, tmp_path: Path) -> None:
    _settled(corpus)
    record = tmp_path / RECORD_FILE
    assert _hashes(corpus, record).hashed == ["a.txt", "b.txt"]
    assert _hashes(corpus, record).hashed == []


def test_only_the_file_whose_stat_changed_is_read(corpus: Path, tmp_path: Path) -> None:
    _settled(corpus)
    record = tmp_path / RECORD_FILE
    _hashes(corpus, record)
    os.utime(corpus / "b.txt")  # touched: a new mtime, the same bytes
    assert _hashes(corpus, record).hashed == ["b.txt"]


def test_a_touched_file_whose_bytes_are_the_same_is_recorded_again_and_not_read_next_time(corpus: Path, tmp_path: Path) -> None:
    _settled(corpus)
    record = tmp_path / RECORD_FILE
    _hashes(corpus, record)
    os.utime(corpus / "b.txt", ns=(1_700_000_000_000_000_000,) * 2)
    assert _hashes(corpus, record).hashed == ["b.txt"]
    assert _hashes(corpus, record).hashed == []


def _record_claiming(corpus: Path, record: Path, name: str, old_digest: str, checked_ns: int) -> None:
    """A record whose stamp for `name` matches the file's stat now but holds the hash of bytes it no longer has:
    what an edit within the same timestamp tick as the last hash leaves behind."""
    stat = (corpus / name).stat()
    files = {name: [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, old_digest]}
    content = {"format": "corpus-answer-bot/file-hashes", "version": 1, "folder": str(corpus.resolve()), "checked_ns": checked_ns, "files": files}
    record.write_text(json.dumps(content), encoding="utf-8")


def test_a_racily_clean_file_is_hashed_even_though_its_stat_matches(corpus: Path, tmp_path: Path) -> None:
    record = tmp_path / RECORD_FILE
    mtime = (corpus / "a.txt").stat().st_mtime_ns
    _record_claiming(corpus, record, "a.txt", "00" * 32, checked_ns=mtime + 1)  # checked in the same tick as the edit
    hashes = FileHashes(corpus, record)
    assert hashes.digest("a.txt", (corpus / "a.txt").stat()) != "00" * 32
    assert hashes.hashed == ["a.txt"]


def test_a_file_older_than_the_racy_window_is_trusted_from_its_stat(corpus: Path, tmp_path: Path) -> None:
    record = tmp_path / RECORD_FILE
    mtime = (corpus / "a.txt").stat().st_mtime_ns
    _record_claiming(corpus, record, "a.txt", "00" * 32, checked_ns=mtime + RACY_WINDOW_NS + 1)
    hashes = FileHashes(corpus, record)
    assert hashes.digest("a.txt", (corpus / "a.txt").stat()) == "00" * 32  # the record's word, unread
    assert hashes.hashed == []


def test_a_racily_clean_file_is_trusted_once_a_later_pass_has_hashed_it(corpus: Path, tmp_path: Path) -> None:
    _settled(corpus)
    record = tmp_path / RECORD_FILE
    mtime = SETTLED_NS
    assert _hashes(corpus, record, clock_ns=mtime + 1).hashed == ["a.txt", "b.txt"]
    assert _hashes(corpus, record, clock_ns=mtime + 2).hashed == ["a.txt", "b.txt"]  # still within the window
    assert _hashes(corpus, record, clock_ns=mtime + RACY_WINDOW_NS + 1).hashed == ["a.txt", "b.txt"]
    assert _hashes(corpus, record, clock_ns=mtime + RACY_WINDOW_NS + 2).hashed == []


def test_a_record_of_another_folder_or_a_damaged_record_is_ignored(corpus: Path, tmp_path: Path) -> None:
    _settled(corpus)
    record = tmp_path / RECORD_FILE
    _hashes(corpus, record)
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.txt").write_bytes((corpus / "a.txt").read_bytes())
    _settled(other)
    assert _hashes(other, record).hashed == ["a.txt"]
    record.write_text("{not json", encoding="utf-8")
    assert _hashes(corpus, record).hashed == ["a.txt", "b.txt"]


def test_the_fingerprint_is_the_same_with_or_without_the_record(corpus: Path, tmp_path: Path) -> None:
    _settled(corpus)
    without = cache.fingerprint(corpus, SearchSettings())
    assert cache.fingerprint(corpus, SearchSettings(), tmp_path / "cache") == without
    assert cache.fingerprint(corpus, SearchSettings(), tmp_path / "cache") == without  # from the record
    assert (tmp_path / "cache" / RECORD_FILE).is_file()


def _restart(corpus: Path, cache_dir: Path) -> tuple[Engine, bool]:
    """An engine from the saved index, and whether that index was rebuilt."""
    saved = cache_dir / cache.CACHE_FILE
    before = saved.stat().st_mtime_ns if saved.exists() else None
    engine = Engine.from_dir(corpus, cache_dir=cache_dir)
    return engine, saved.stat().st_mtime_ns != before


def test_a_touched_but_unchanged_file_keeps_the_saved_index(corpus: Path, tmp_path: Path) -> None:
    _settled(corpus)
    cache_dir = tmp_path / "cache"
    _restart(corpus, cache_dir)
    os.utime(corpus / "a.txt")
    engine, rebuilt = _restart(corpus, cache_dir)
    assert not rebuilt
    assert STALE not in engine.warnings


def test_new_content_under_a_preserved_mtime_is_caught(corpus: Path, tmp_path: Path) -> None:
    _settled(corpus)
    cache_dir = tmp_path / "cache"
    _restart(corpus, cache_dir)
    stat = (corpus / "a.txt").stat()
    (corpus / "a.txt").write_text("Lighthouse keepers trimmed the wicks of their lamps.", encoding="utf-8")
    os.utime(corpus / "a.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))  # as `cp -p` or `rsync -t` would
    engine, rebuilt = _restart(corpus, cache_dir)
    assert rebuilt and STALE in engine.warnings
    assert "wicks" in engine.ask("who trimmed the wicks?").hits[0].text


def test_a_deleted_or_added_file_makes_the_index_stale(corpus: Path, tmp_path: Path) -> None:
    _settled(corpus)
    cache_dir = tmp_path / "cache"
    _restart(corpus, cache_dir)
    (corpus / "b.txt").unlink()
    engine, rebuilt = _restart(corpus, cache_dir)
    assert rebuilt and engine.ask("foghorns").abstained
    (corpus / "c.txt").write_text("Buoys mark the channel for ships.", encoding="utf-8")
    engine, rebuilt = _restart(corpus, cache_dir)
    assert rebuilt and engine.ask("what marks the channel?").hits[0].article.file == "c.txt"
