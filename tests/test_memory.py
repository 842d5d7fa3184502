"""The allocator settings that keep freed memory (embedding's, an old engine's after a reload) from staying resident."""

import ctypes.util
import platform

import pytest

from bot.memory import return_freed_memory, trim


def test_glibc_s_mmap_threshold_is_pinned_where_glibc_is_the_c_library() -> None:
    assert return_freed_memory() is (platform.libc_ver()[0] == "glibc")


def test_freed_memory_is_given_back_where_glibc_is_the_c_library() -> None:
    assert trim() is (platform.libc_ver()[0] == "glibc")


def test_giving_memory_back_is_a_no_op_without_a_c_library(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert trim() is False
