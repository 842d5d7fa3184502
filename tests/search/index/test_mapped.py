"""The memory-mapped store: loads that read only the header, and damage refused before it can change an answer."""

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

from bot.search import cache
from bot.search.engine import Engine
from bot.search.index import mapped
from bot.search.index.mapped import ALIGN, MAGIC, load_mapped, save_mapped
from bot.search.index.store import StoreError

ORCHARD = Path(__file__).resolve().parents[2] / "fixtures" / "orchard"
QUESTIONS = ["How many bees live in a hive?", "which apples are sweetest?", "when are pears picked?", "what do the trees need?"]
BIG = 3 * mapped.BLOCK  # elements: an array of several blocks
ARRAYS = {
    "ids": np.arange(BIG, dtype=np.int32),
    "weights": np.linspace(0, 1, 12).reshape(3, 4),
    "label": np.array("okapi"),
    "empty": np.zeros(0, dtype=np.uint8),
}
REMADE_BY_TO_ARRAYS = {"bm25.variant", "bm25.params", "bm25.terms", "bm25.term_offsets"}  # small, from Python values
META = {"fingerprint": "abc123", "articles": [{"number": 1, "file": "a.txt"}]}


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """An .npz file at exactly `path` (numpy adds ".npz" to a name without it), as the previous version saved."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        np.savez(file, **arrays)


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    path = tmp_path / "cache" / "arrays.mapped"
    save_mapped(path, ARRAYS, META)
    return path


def header_of(path: Path) -> tuple[dict, int]:
    """The file's JSON header and where its arrays start: MAGIC, the header's length (8 bytes), its SHA-256, the header."""
    data = path.read_bytes()
    length = int.from_bytes(data[len(MAGIC) : len(MAGIC) + 8], "little")
    prefix = len(MAGIC) + 8 + 32
    return json.loads(data[prefix : prefix + length]), -(-(prefix + length) // ALIGN) * ALIGN


def position(path: Path, name: str) -> int:
    """The byte offset of array `name`'s first byte in the file."""
    header, data_start = header_of(path)
    return data_start + header["arrays"][name]["offset"]


def flip(path: Path, at: int) -> None:
    data = bytearray(path.read_bytes())
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def rewrite_header(path: Path, change) -> None:
    """Edit the header and give it a valid checksum again: what someone who can write the cache folder could do."""
    header, data_start = header_of(path)
    arrays = path.read_bytes()[data_start:]
    change(header)
    raw = json.dumps(header).encode()
    prefix = MAGIC + len(raw).to_bytes(8, "little") + hashlib.sha256(raw).digest() + raw
    path.write_bytes(prefix + bytes(-len(prefix) % ALIGN) + arrays)


def test_round_trip_keeps_names_values_dtypes_shapes_and_meta(saved: Path) -> None:
    loaded = load_mapped(saved, {"fingerprint": "abc123"})

    assert loaded is not None and loaded.meta == META
    assert list(loaded) == list(ARRAYS)
    for name, array in ARRAYS.items():
        assert loaded[name].dtype == array.dtype and loaded[name].shape == array.shape
        np.testing.assert_array_equal(loaded[name], array)
    loaded.verify(*ARRAYS)


def test_arrays_are_read_only_views_of_the_file_not_copies(saved: Path) -> None:
    """Every process mapping the file shares its pages; a write would fault, and nothing was read to copy."""
    loaded = load_mapped(saved, {})
    ids = loaded["ids"]

    assert not ids.flags.writeable and not ids.flags.owndata
    with pytest.raises(ValueError, match="read-only"):
        ids[0] = 7


def test_a_missing_file_is_none_and_another_meta_is_refused(saved: Path) -> None:
    assert load_mapped(saved.parent / "absent.mapped", {}) is None
    with pytest.raises(StoreError, match="fingerprint='abc123', expected 'def456'"):
        load_mapped(saved, {"fingerprint": "def456"})


def test_save_refuses_objects(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only numbers and fixed-width text"):
        save_mapped(tmp_path / "x.mapped", {"texts": np.array(["a", None], dtype=object)}, {})
    assert not (tmp_path / "x.mapped").exists()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda path: path.write_bytes(path.read_bytes()[:-100]), "bytes where its header says"),
        (lambda path: path.write_bytes(path.read_bytes()[:60]), "truncated inside its header"),
        (lambda path: path.write_bytes(path.read_bytes() + b"\0" * 64), "bytes where its header says"),
        (lambda path: flip(path, len(MAGIC) + 40 + 20), "header does not match the checksum"),
        (lambda path: flip(path, len(MAGIC) + 8 + 5), "header does not match the checksum"),
        (lambda path: flip(path, len(MAGIC)), "truncated inside its header|header does not match"),
        (lambda path: path.write_bytes(b""), "too short"),
        (lambda path: path.write_bytes(np.random.default_rng(0).bytes(4096)), "not written by this bot's mapped store"),
        (lambda path: write_npz(path, ids=np.arange(3)), "not written by this bot's mapped store"),
        (lambda path: rewrite_header(path, lambda h: h.update(version=0)), "version 0; this bot reads 1"),
        (lambda path: rewrite_header(path, lambda h: h.update(format="someone-else")), "not written by this bot"),
        (lambda path: rewrite_header(path, lambda h: h["arrays"]["ids"].update(dtype="|O")), "bad dtype"),
        (lambda path: rewrite_header(path, lambda h: h["arrays"]["ids"].update(dtype="<i8")), "malformed header"),
        (lambda path: rewrite_header(path, lambda h: h["arrays"]["ids"].update(shape=[BIG * 10])), "malformed header"),
        (lambda path: rewrite_header(path, lambda h: h["arrays"]["weights"].update(offset=8)), "malformed header"),
        (lambda path: rewrite_header(path, lambda h: h["arrays"]["weights"].update(first_block=0)), "malformed header"),
        (lambda path: flip(path, path.stat().st_size - 2), "table of block checksums does not match"),
    ],
    ids=[
        "truncated", "truncated in the header", "grown", "a byte flipped in the header", "a byte flipped in its checksum",
        "a byte flipped in its length", "empty", "random bytes", "the previous version's .npz", "another version",
        "a foreign format", "an object dtype", "a wider dtype than the bytes", "a shape past the end",
        "overlapping arrays", "another array's checksums", "a byte flipped in the checksums",
    ],
)
def test_damaged_or_foreign_files_are_refused_at_load_from_the_header_alone(saved: Path, damage, reason) -> None:
    damage(saved)

    with pytest.raises(StoreError, match=reason):
        load_mapped(saved, {})


def test_a_flipped_byte_inside_an_array_is_found_when_its_block_is_first_read(saved: Path) -> None:
    """Loading reads the header only; the block's CRC refuses the byte before anyone uses it, and the file goes."""
    flip(saved, position(saved, "ids") + 4 * (mapped.BLOCK // 4 + 10))  # in the array's second block
    loaded = load_mapped(saved, {})

    loaded.check("ids", 0, 100)  # the first block is sound
    with pytest.raises(StoreError, match="block 1 of ids does not match its CRC.*next start or !reload rebuilds it"):
        loaded.check("ids", mapped.BLOCK // 4, mapped.BLOCK // 4 + 1)
    assert not saved.exists()


def test_damage_found_in_a_replaced_file_leaves_the_new_file_alone(saved: Path) -> None:
    """Another process may have saved a good copy since this one mapped the damaged file."""
    flip(saved, position(saved, "ids") + 1)
    loaded = load_mapped(saved, {})
    save_mapped(saved, ARRAYS, META)

    with pytest.raises(StoreError, match="block 0 of ids"):
        loaded.verify("ids")
    assert load_mapped(saved, {})["ids"][1] == 1


def test_an_interrupted_save_leaves_the_old_file_whole_and_no_temporary_file(saved: Path, monkeypatch) -> None:
    def power_cut(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", power_cut)
    with pytest.raises(KeyboardInterrupt):
        save_mapped(saved, {**ARRAYS, "ids": np.zeros(BIG, dtype=np.int32)}, META)
    monkeypatch.undo()

    assert [path.name for path in saved.parent.iterdir()] == [saved.name]
    loaded = load_mapped(saved, {})
    loaded.verify(*ARRAYS)
    np.testing.assert_array_equal(loaded["ids"], ARRAYS["ids"])


def test_a_process_that_mapped_the_old_file_keeps_reading_it_whole_after_a_save_replaces_it(saved: Path) -> None:
    before = load_mapped(saved, {})
    save_mapped(saved, {**ARRAYS, "ids": np.zeros(BIG, dtype=np.int32)}, META)

    before.verify(*ARRAYS)
    np.testing.assert_array_equal(before["ids"], ARRAYS["ids"])
    assert not load_mapped(saved, {})["ids"].any()


# The saved engine, through Engine.from_dir.


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    Engine.from_dir(ORCHARD, cache_dir=tmp_path / "cache")
    return tmp_path / "cache"


def answers(engine: Engine) -> list:
    return [(answer.hits, answer.abstained, answer.reason) for answer in map(engine.ask, QUESTIONS)]


def test_a_loaded_engine_answers_exactly_as_the_one_saved_from_memory_mapped_read_only_arrays(tmp_path: Path) -> None:
    built = Engine.from_dir(ORCHARD, cache_dir=tmp_path / "cache")
    loaded = Engine.from_dir(ORCHARD, cache_dir=tmp_path / "cache")

    assert not loaded.warnings
    assert answers(loaded) == answers(built)
    assert [loaded.opening(n) for n in (1, 2)] == [built.opening(n) for n in (1, 2)]
    assert loaded.index.scores(["bee", "hive"]).tolist() == built.index.scores(["bee", "hive"]).tolist()
    postings = {name: array for name, array in loaded.index.to_arrays().items() if name not in REMADE_BY_TO_ARRAYS}
    for name, array in {**loaded.table.to_arrays(), **postings, "indexed": loaded.indexed}.items():
        assert not array.flags.writeable and not array.flags.owndata, name


def saved_file(cache_dir: Path) -> Path:
    return cache_dir / cache.CACHE_FILE


@pytest.mark.parametrize(
    "damage",
    [
        lambda path: path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2]),
        lambda path: flip(path, len(MAGIC) + 40 + 30),
        lambda path: flip(path, position(path, "bm25.offsets") + 8),
        lambda path: flip(path, position(path, "sentence.article") + 4),
        lambda path: flip(path, position(path, "speller.deletion_keys") + 3),
        lambda path: rewrite_header(path, lambda h: h["arrays"]["bm25.doc_ids"].update(dtype="<u4")),
        lambda path: path.write_bytes(b"PK\x03\x04 someone else's zip"),
        lambda path: write_npz(path, header=np.array("{}"), indexed=np.arange(3, dtype=np.int32)),
    ],
    ids=[
        "truncated", "a byte flipped in the header", "a byte flipped in the posting offsets",
        "a byte flipped in the sentences' articles", "a byte flipped in the speller's index", "a wrong dtype",
        "a foreign file", "the previous version's .npz under the new name",
    ],
)
def test_a_damaged_saved_engine_is_rebuilt_with_a_warning_at_load(cache_dir: Path, damage) -> None:
    reference = answers(Engine.from_dir(ORCHARD))
    damage(saved_file(cache_dir))

    engine = Engine.from_dir(ORCHARD, cache_dir=cache_dir)

    assert len(engine.warnings) == 1 and "saved index not used" in engine.warnings[0] and "rebuilt it" in engine.warnings[0]
    assert answers(engine) == reference
    assert not Engine.from_dir(ORCHARD, cache_dir=cache_dir).warnings  # saved again, sound


def test_the_previous_versions_saved_engine_is_removed_when_the_new_one_is_saved(tmp_path: Path) -> None:
    old = tmp_path / "cache" / cache.OLD_CACHE_FILE
    write_npz(old, indexed=np.arange(3, dtype=np.int32))

    engine = Engine.from_dir(ORCHARD, cache_dir=tmp_path / "cache")

    assert not engine.warnings and not old.exists() and saved_file(tmp_path / "cache").is_file()


@pytest.mark.parametrize("array", ["bm25.doc_ids", "bm25.tf", "sentence.text", "sentence.text_offsets"])
def test_damage_in_postings_or_text_is_an_abstention_naming_it_then_a_rebuild(cache_dir: Path, array: str) -> None:
    """These arrays are read a block at a time as questions reach them: the first read refuses the damaged block,
    the question is answered with the reason instead of a wrong answer or a crash, and the next start rebuilds."""
    reference = answers(Engine.from_dir(ORCHARD))
    flip(saved_file(cache_dir), position(saved_file(cache_dir), array) + 8)  # offsets still ascending: only the CRC knows
    engine = Engine.from_dir(ORCHARD, cache_dir=cache_dir)
    assert not engine.warnings  # nothing was read that could show it

    first = engine.ask(QUESTIONS[0])

    assert first.abstained and not first.hits
    assert f"of {array} does not match its CRC" in first.reason and "rebuilds it" in first.reason
    assert not saved_file(cache_dir).exists()
    assert answers(Engine.from_dir(ORCHARD, cache_dir=cache_dir)) == reference
