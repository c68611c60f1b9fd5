"""Freed heap memory goes back to the system (the wall runs for days; issue 11)."""

from __future__ import annotations

import sys

import pytest

from twin_app.session.heap import trim_heap, tune_malloc

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_freed_fragmented_blocks_are_given_back() -> None:
    assert tune_malloc()
    # 120 blocks of 512 KiB (under the mmap threshold: on the heap), each followed by a small
    # block that stays, then freed: the 60 MB go back to the system, holes and all
    before = _rss_mb()
    page = bytes(range(256)) * 2048  # 512 KiB, written: resident
    big, pins = [], []
    for _ in range(120):
        big.append(bytearray(page))
        pins.append(bytearray(page[:1024]))  # over 512 B: from malloc, not pymalloc
    assert _rss_mb() > before + 50.0
    del big
    trim_heap()
    assert _rss_mb() < before + 10.0
    del pins
