"""What every saved file shares: strings packed as UTF-8, sentence tables checked, failed saves named by cause."""

import errno
import os
from pathlib import Path

import numpy as np
import pytest

from bot.search.index import store
from bot.search.index.store import pack_strings, unpack_strings, why_not_saved
from bot.search.index.table import SentenceTable

ORCHARD = Path(__file__).resolve().parents[2] / "fixtures" / "orchard"


@pytest.mark.parametrize("strings", [[], [""], ["a", "", "größe", "日本語", "emoji 🙂"]])
def test_strings_pack_into_one_utf8_blob_and_back(strings):
    blob, offsets = pack_strings(strings)

    assert blob.dtype == np.uint8 and offsets.dtype == np.int64
    assert len(offsets) == len(strings) + 1
    assert unpack_strings(blob, offsets) == strings


@pytest.mark.parametrize(
    "offsets", [[0, 2, 1, 3], [1, 3], [0, 2], []], ids=["decreasing", "not from 0", "short of the end", "empty"]
)
def test_unpack_refuses_offsets_that_do_not_fit_the_blob(offsets):
    blob, _ = pack_strings(["abc"])

    with pytest.raises(ValueError, match="do not fit"):
        unpack_strings(blob, np.array(offsets, dtype=np.int64))


def test_unpack_refuses_bytes_that_are_not_utf8():
    with pytest.raises(ValueError, match="utf-8"):
        unpack_strings(np.array([0xFF, 0xFE], dtype=np.uint8), np.array([0, 2]))


def table_arrays(texts):
    blob, offsets = pack_strings(texts)
    return {
        "sentence.text": blob.copy(),
        "sentence.text_offsets": offsets,
        "sentence.article": np.ones(len(texts), dtype=np.int32),
        "sentence.kind": np.zeros(len(texts), dtype=np.uint8),
    }


def test_a_saved_sentence_table_loads_when_it_is_sound():
    table = SentenceTable.from_arrays(table_arrays(["Größe zählt.", "日本語 ok.", ""]))

    assert [table.text(i) for i in range(3)] == ["Größe zählt.", "日本語 ok.", ""]


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda a: a.update({"sentence.text_offsets": a["sentence.text_offsets"].astype(np.float64)}), "expected 1-D int64"),
        (lambda a: a.update({"sentence.article": a["sentence.article"].astype(np.int64)}), "expected 1-D int32"),
        (lambda a: a["sentence.text_offsets"].__setitem__(1, 99), "out of order"),
        (lambda a: a["sentence.text_offsets"].__setitem__(1, 3), "inside a UTF-8 character"),
        (lambda a: a["sentence.text"].__setitem__(0, 0xFF), "not UTF-8"),
        (lambda a: a["sentence.text_offsets"].__setitem__(-1, 5), "do not fit together"),
        (lambda a: a["sentence.kind"].__setitem__(0, 200), "unknown kinds"),
    ],
    ids=["float offsets", "wide article numbers", "offsets out of order", "offset inside a character",
         "bytes that are not UTF-8", "offsets past the text", "unknown kind"],
)
def test_a_damaged_or_crafted_sentence_table_is_refused(damage, reason):
    arrays = table_arrays(["Größe zählt.", "Zweiter Satz."])
    damage(arrays)

    with pytest.raises(ValueError, match=reason):
        SentenceTable.from_arrays(arrays)


def test_a_full_disk_under_the_index_cache_is_named_as_such_and_leaves_nothing_behind(tmp_path, monkeypatch):
    """The save fails part-way with ENOSPC: the warning says the disk is full (not "check permissions"),
    no temporary file is left, and the engine still serves."""
    from bot.search import cache
    from bot.search.engine import Engine
    from bot.search.index import mapped
    from bot.search.index.file_hashes import RECORD_FILE

    def fill_the_disk(path, content):
        def write_part(file):
            file.write(mapped.MAGIC + b"\0" * 100)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        store.write_atomically(path, write_part)

    monkeypatch.setattr(mapped, "write_atomically", fill_the_disk)
    cache_dir = tmp_path / "index"
    engine = Engine.from_dir(ORCHARD, cache_dir=cache_dir)

    assert engine.warnings[-1] == (
        f"{cache_dir / cache.CACHE_FILE}: cannot save the index: the disk is full (No space left on device); "
        "free space where INDEX_CACHE points, or point it at another disk"
    )
    assert [path.name for path in cache_dir.iterdir()] == [RECORD_FILE]  # the files' hashes, no half-written index
    assert not engine.ask("which apples are sweetest?").abstained


@pytest.mark.parametrize(
    "number, advice",
    [
        (errno.EACCES, "permission denied (Permission denied); check INDEX_CACHE's permissions"),
        (errno.EROFS, "the file system is read-only (Read-only file system); point INDEX_CACHE at a writable folder"),
        (errno.EDQUOT, "the disk is full (Disk quota exceeded); free space where INDEX_CACHE points"),
    ],
)
def test_each_failed_save_names_its_cause(number, advice):
    assert why_not_saved(OSError(number, os.strerror(number)), "INDEX_CACHE").startswith(advice)
