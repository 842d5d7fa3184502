"""Every sentence of the corpus, stored compactly: one UTF-8 blob and a few numeric arrays.

A million sentences as Python objects would cost several hundred MB; as arrays they cost
little more than their text, and a sentence becomes a string only when it is shown.
"""

from __future__ import annotations

import codecs
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from bot.search.index.mapped import Mapped
from bot.search.read.sentences import Kind

KINDS = tuple(Kind)
# The exact dtype of each saved array: a loaded file with any other is refused, not cast.
_DTYPES = {
    "sentence.text": np.dtype(np.uint8),
    "sentence.text_offsets": np.dtype(np.int64),
    "sentence.article": np.dtype(np.int32),
    "sentence.kind": np.dtype(np.uint8),
}
_UTF8_CHUNK = 1 << 20


@dataclass(frozen=True)
class SentenceTable:
    text_blob: np.ndarray
    text_offsets: np.ndarray
    articles: np.ndarray
    kinds: np.ndarray
    saved: Mapped | None = field(default=None, compare=False, repr=False)  # the mapped file, whose text is checked as it is read

    def __post_init__(self) -> None:
        n = len(self.articles)
        if len(self.text_offsets) != n + 1 or len(self.kinds) != n or self.text_offsets[-1] != len(self.text_blob):
            raise ValueError("sentence table arrays do not fit together")
        if n and (self.kinds.max() >= len(KINDS) or np.any(np.diff(self.articles) < 0) or self.articles[0] < 1):
            raise ValueError("sentence table has unknown kinds or unordered articles")

    def __len__(self) -> int:
        return len(self.articles)

    def text(self, i: int) -> str:
        if self.saved is None:
            return self.text_blob[self.text_offsets[i] : self.text_offsets[i + 1]].tobytes().decode("utf-8")
        self.saved.check("sentence.text_offsets", i, i + 2)
        start, end = int(self.text_offsets[i]), int(self.text_offsets[i + 1])
        self.saved.check("sentence.text", start, end)
        try:
            return self.text_blob[start:end].tobytes().decode("utf-8")
        except UnicodeDecodeError as error:
            raise self.saved.damaged(f"sentence {i} is not UTF-8 ({error.reason})") from None

    def kind(self, i: int) -> Kind:
        return KINDS[self.kinds[i]]

    def article(self, i: int) -> int:
        return int(self.articles[i])

    def span(self, number: int) -> range:
        """The ids of article `number`'s sentences (they are stored contiguously)."""
        bounds = np.array([number, number + 1], dtype=self.articles.dtype)  # a list would widen the whole column
        start, end = np.searchsorted(self.articles, bounds)
        return range(int(start), int(end))

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {
            "sentence.text": self.text_blob,
            "sentence.text_offsets": self.text_offsets,
            "sentence.article": self.articles,
            "sentence.kind": self.kinds,
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> SentenceTable:
        """A table from saved arrays, checked so that every sentence starts on a character; ValueError says what is wrong.

        A saved file can be damaged or crafted: offsets that are out of order, out of bounds or
        inside a UTF-8 character would otherwise fail (or mislead) only when a sentence is shown.
        Those checks read the offsets and a byte of each sentence (0.03 s at a million sentences); from
        a mapped file, the text itself is checked against its CRCs, and decoded, only as it is shown.
        """
        for name, dtype in _DTYPES.items():
            array = arrays[name]
            if array.dtype != dtype or array.ndim != 1:
                raise ValueError(f"sentence table array {name} is {array.dtype} {array.shape}, expected 1-D {dtype}")
        if isinstance(arrays, Mapped):
            arrays.verify("sentence.article", "sentence.kind")  # read whole at load (Engine gathers articles)
        table = cls(*(arrays[name] for name in _DTYPES), saved=arrays if isinstance(arrays, Mapped) else None)
        table._check_offsets()
        if table.saved is None:
            _check_utf8(table.text_blob)
        return table

    def _check_offsets(self) -> None:
        offsets, blob = self.text_offsets, self.text_blob
        if len(offsets) == 0 or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
            raise ValueError("sentence text offsets are out of order")
        starts = offsets[:-1][offsets[:-1] < len(blob)]
        if np.any(blob[starts] & 0xC0 == 0x80):
            raise ValueError("a sentence text offset falls inside a UTF-8 character")


def _check_utf8(blob: np.ndarray) -> None:
    """Raise ValueError unless `blob` is UTF-8, decoding a chunk at a time to keep memory flat."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(blob)
    try:
        for start in range(0, len(view), _UTF8_CHUNK):
            decoder.decode(view[start : start + _UTF8_CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise ValueError(f"sentence text is not UTF-8 ({error.reason})") from None


class TableBuilder:
    """Appends sentences without holding them as Python strings."""

    def __init__(self) -> None:
        self._blob = bytearray()
        self._offsets = array("q", [0])
        self._articles = array("i")
        self._kinds = array("B")

    def __len__(self) -> int:
        return len(self._articles)

    def add(self, text: str, article: int, kind: Kind) -> int:
        self._blob += text.encode("utf-8")
        self._offsets.append(len(self._blob))
        self._articles.append(article)
        self._kinds.append(KINDS.index(kind))
        return len(self._articles) - 1

    def build(self) -> SentenceTable:
        """The table, over the builder's own buffers (not copies: the text may be most of the corpus); the builder is done."""
        return SentenceTable(
            np.frombuffer(self._blob, dtype=np.uint8),
            np.frombuffer(self._offsets, dtype=np.int64),
            np.frombuffer(self._articles, dtype=np.int32),
            np.frombuffer(self._kinds, dtype=np.uint8),
        )
