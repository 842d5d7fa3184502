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

_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number
_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value


def return_freed_memory() -> bool:
    """Pin glibc's mmap threshold; False (and nothing changed) where the C library is not glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD_BYTES))
