"""The array store: atomic saves, and loads that refuse anything damaged, foreign, stale or executable."""

import errno
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bot.search.index import store
from bot.search.index.bm25 import BM25Index
from bot.search.index.store import (
    VERSION,
    StoreError,
    load_arrays,
    pack_strings,
    save_arrays,
    unpack_strings,
    why_not_saved,
)
from bot.search.index.table import SentenceTable

META = {"fingerprint": "abc123", "sentences": 3}
ORCHARD = Path(__file__).resolve().parents[2] / "fixtures" / "orchard"
ARRAYS = {
    "doc_ids": np.array([0, 2, 1], dtype=np.int32),
    "weights": np.array([0.5, 1.25], dtype=np.float64),
    "label": np.array("okapi"),
}


class Trap:
    """Unpickling this creates the file `marker`: proof that loading ran code."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "cache" / "engine.npz"
    save_arrays(path, ARRAYS, META)
    return path


def write_npz(path, meta, **arrays):
    """A file shaped like ours, written without save_arrays' checks."""
    with path.open("wb") as file:
        np.savez(file, __meta__=np.array(json.dumps(meta)), **arrays)


def test_round_trip_keeps_names_values_and_dtypes(saved):
    loaded = load_arrays(saved, META)

    assert loaded.keys() == ARRAYS.keys()
    for name, array in ARRAYS.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)


def test_a_subset_of_the_meta_is_enough_to_check(saved):
    assert load_arrays(saved, {"fingerprint": "abc123"}) is not None
    assert load_arrays(saved, {}) is not None


def test_save_leaves_no_temporary_file_and_replaces_the_old_one(saved):
    save_arrays(saved, {"doc_ids": np.array([7], dtype=np.int32)}, META)

    assert [p.name for p in saved.parent.iterdir()] == ["engine.npz"]
    assert load_arrays(saved, META)["doc_ids"].tolist() == [7]


def test_a_missing_file_is_none_not_an_error(tmp_path):
    assert load_arrays(tmp_path / "absent.npz", META) is None


def test_a_different_fingerprint_is_refused(saved):
    with pytest.raises(StoreError, match="fingerprint='abc123', expected 'def456'"):
        load_arrays(saved, {"fingerprint": "def456"})


def test_another_store_version_is_refused(tmp_path):
    path = tmp_path / "old.npz"
    write_npz(path, {"format": "corpus-answer-bot/arrays", "version": VERSION + 1, **META}, doc_ids=np.zeros(2))

    with pytest.raises(StoreError, match=f"version {VERSION + 1}; this bot reads {VERSION}"):
        load_arrays(path, META)


@pytest.mark.parametrize(
    "meta", [None, {"format": "someone-else", "version": VERSION}], ids=["no meta record", "foreign format"]
)
def test_an_npz_file_we_did_not_write_is_refused(tmp_path, meta):
    path = tmp_path / "foreign.npz"
    if meta is None:
        np.savez(path, doc_ids=np.zeros(2))
    else:
        write_npz(path, meta, doc_ids=np.zeros(2))

    with pytest.raises(StoreError, match="not written by this bot's store"):
        load_arrays(path, META)


def test_a_plain_npy_file_is_refused(tmp_path):
    path = tmp_path / "array.npz"
    with path.open("wb") as file:
        np.save(file, np.arange(3))

    with pytest.raises(StoreError, match="not written by this bot's store"):
        load_arrays(path, META)


def test_a_truncated_file_is_refused(saved):
    saved.write_bytes(saved.read_bytes()[:-100])

    with pytest.raises(StoreError, match="damaged"):
        load_arrays(saved, META)


def test_a_flipped_byte_inside_an_array_is_caught_by_its_checksum(tmp_path):
    path = tmp_path / "big.npz"
    save_arrays(path, {"doc_ids": np.arange(10_000, dtype=np.int64)}, META)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))

    with pytest.raises(StoreError, match="CRC"):
        load_arrays(path, META)


def test_random_bytes_are_refused(tmp_path):
    path = tmp_path / "noise.npz"
    path.write_bytes(np.random.default_rng(0).bytes(4096))

    with pytest.raises(StoreError, match="damaged"):
        load_arrays(path, META)


def test_a_pickle_is_refused_without_running_it(tmp_path):
    path = tmp_path / "engine.npz"
    marker = tmp_path / "pwned"
    path.write_bytes(pickle.dumps(Trap(marker)))

    with pytest.raises(StoreError, match="pickled"):
        load_arrays(path, META)
    assert not marker.exists()


def test_an_object_array_inside_our_file_is_refused_without_running_it(tmp_path):
    path = tmp_path / "engine.npz"
    marker = tmp_path / "pwned"
    meta = {"format": "corpus-answer-bot/arrays", "version": VERSION, **META}
    write_npz(path, meta, doc_ids=np.array([Trap(marker)], dtype=object))

    assert zipfile.is_zipfile(path)
    with pytest.raises(StoreError, match="Object arrays cannot be loaded"):
        load_arrays(path, META)
    assert not marker.exists()


def test_save_refuses_object_arrays_and_reserved_names(tmp_path):
    path = tmp_path / "engine.npz"
    with pytest.raises(ValueError, match="'texts' holds Python objects"):
        save_arrays(path, {"texts": np.array(["a", None], dtype=object)}, META)
    with pytest.raises(ValueError, match="version is reserved"):
        save_arrays(path, ARRAYS, {"version": 2})
    assert not path.exists()


def test_an_index_survives_the_store(tmp_path):
    documents = [["hello", "there"], ["windy", "in", "london"], [], ["is", "it", "windy"]]
    index = BM25Index.build(documents, variant="plus")
    save_arrays(tmp_path / "index.npz", index.to_arrays(), META)

    loaded = BM25Index.from_arrays(load_arrays(tmp_path / "index.npz", META))

    np.testing.assert_array_equal(loaded.scores(["windy", "hello"]), index.scores(["windy", "hello"]))
    assert loaded.top_k(["windy"], 5) == index.top_k(["windy"], 5)


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


def test_arrays_changed_behind_a_valid_meta_record_fail_the_checksum(tmp_path):
    """The zip CRC covers each member, not which members belong together: the checksum in the record does."""
    path = tmp_path / "engine.npz"
    save_arrays(path, ARRAYS, META)
    with np.load(path) as npz:
        record = npz["__meta__"]
    write_npz(path, json.loads(str(record)), doc_ids=np.array([0, 2, 2], dtype=np.int32), weights=ARRAYS["weights"], label=ARRAYS["label"])

    with pytest.raises(StoreError, match="do not match the checksum"):
        load_arrays(path, META)


def test_a_file_of_the_previous_store_version_is_refused_so_it_is_rebuilt(tmp_path):
    path = tmp_path / "engine.npz"
    write_npz(path, {"format": "corpus-answer-bot/arrays", "version": 1, **META}, **ARRAYS)

    with pytest.raises(StoreError, match="version 1; this bot reads 2"):
        load_arrays(path, META)


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
