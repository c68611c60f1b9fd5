"""Helpers shared by the benchmarks: data paths, timing, peak memory."""

from __future__ import annotations

import json
import resource
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CACHE = ROOT / ".bench-cache"


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time in seconds over `repeat` runs, and the last result."""
    best = float("inf")
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def median_ms(samples: list[float]) -> float:
    """Median of seconds, in milliseconds."""
    return 1000.0 * statistics.median(samples)


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(result: dict[str, Any], as_json: bool) -> None:
    """Print the result as one JSON object or as aligned text."""
    if as_json:
        print(json.dumps(result, indent=2))
        return
    width = max(len(k) for k in result)
    for k, v in result.items():
        print(f"{k:<{width}}  {v:.4g}" if isinstance(v, float) else f"{k:<{width}}  {v}")
    sys.stdout.flush()
