"""Freed heap memory goes back to the system (the wall runs for days; issue 11)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc")

# In a fresh process: one that already holds free heap would reuse its holes for the blocks.
CHECK = """
from twin_app.session.heap import trim_heap, tune_malloc

def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

assert tune_malloc()
before = rss_mb()
# 120 blocks of 512 KiB (under the mmap threshold: on the heap), each followed by a small
# malloc'd block that stays, then freed: the 60 MB go back to the system, holes and all
page = bytes(range(256)) * 2048
big, pins = [], []
for _ in range(120):
    big.append(bytearray(page))
    pins.append(bytearray(page[:1024]))
grown = rss_mb() - before
del big
trim_heap()
print(round(grown), round(rss_mb() - before))
"""


def test_freed_fragmented_blocks_are_given_back() -> None:
    root = str(Path(__file__).resolve().parents[2])  # this checkout's twin_app
    env = {**os.environ, "PYTHONPATH": root}
    out = subprocess.run(
        [sys.executable, "-c", CHECK],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
        env=env,
    )
    grown, left = (float(v) for v in out.stdout.split())
    assert grown > 50.0
    assert left < 10.0
