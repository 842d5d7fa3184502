"""Keep the process's memory from growing through fragmentation, on Linux's C library (glibc).

glibc serves big allocations from mmap, so freeing them returns the memory, but it raises that
threshold each time the process frees a big block; after that, onnxruntime's per-batch buffers
come from the heap and its high-water mark stays resident. Fixing the threshold at its start
value keeps them returnable. Measured embedding 2,000 sentences (the same run twice,
with and without): RSS after 229 MB and peak 336 MB without, 141 MB and 232 MB with.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value


def return_freed_memory() -> bool:
    """Pin glibc's mmap threshold; False (and nothing changed) where the C library is not glibc."""
    mallopt = _libc("mallopt")
    return mallopt is not None and bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES))


def trim() -> bool:
    """Give the C library's freed memory back to the system (glibc's malloc_trim); False (nothing done) elsewhere.

    Freed small blocks stay in glibc's heaps, one per thread that allocated them, until trimmed: a
    reload builds the new engine in a worker thread and then lets the old one go, so without this
    the process kept what both had held (see bench/reload_memory.py).
    """
    malloc_trim = _libc("malloc_trim")
    if malloc_trim is None:
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim(0)  # its result says whether anything was returned, which may rightly be nothing
    return True


def _libc(function: str) -> Any:
    """A function of the C library, or None where there is none of that name (not glibc)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return getattr(ctypes.CDLL(name), function)
    except (OSError, AttributeError):
        return None
