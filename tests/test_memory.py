"""The allocator setting that keeps embedding's freed memory from staying resident."""

import platform

from bot.memory import return_freed_memory


def test_glibc_s_mmap_threshold_is_pinned_where_glibc_is_the_c_library() -> None:
    assert return_freed_memory() is (platform.libc_ver()[0] == "glibc")
