"""Hostile live payloads (issue 10): JSON nested deeper than the parser's recursion limit is
counted as malformed, never a traceback on the terminal."""

from __future__ import annotations

import subprocess
import sys

import pytest

from twin_app.feeds.sensorthings import FeedStats, parse_observation

DEPTH = 100_000
DEEP = "[" * DEPTH + "]" * DEPTH

CASES = {
    "observation_result": (
        "v1.1/Datastreams(1)/Observations",
        '{"phenomenonTime":"2024-01-01T00:00:00Z","result":' + DEEP + "}",
    ),
    "observation_top_level": ("v1.1/Datastreams(1)/Observations", DEEP),
    "observation_object": (
        "v1.1/Datastreams(1)/Observations",
        '{"a":' * DEPTH + "1" + "}" * DEPTH,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_deeply_nested_payload_is_counted_as_bad_json(case: str) -> None:
    topic, payload = CASES[case]
    stats = FeedStats()
    assert parse_observation(topic, payload.encode(), stats=stats) is None
    assert stats.rejected == {"bad_json": 1}
    assert stats.accepted == 0


def test_no_traceback_reaches_the_terminal() -> None:
    code = (
        "from twin_app.feeds.sensorthings import FeedStats, parse_observation\n"
        f"d = '[' * {DEPTH} + ']' * {DEPTH}\n"
        "s = FeedStats()\n"
        "for p in (d, '{\"result\":' + d + '}'):\n"
        "    parse_observation('v1.1/Datastreams(1)/Observations', p, stats=s)\n"
        "print(s.rejected)\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert res.returncode == 0, res.stderr
    assert "Traceback" not in res.stderr and "RecursionError" not in res.stderr
    assert res.stdout.strip() == "{'bad_json': 2}"
