"""Clock: play/pause, rate, reverse, loop, seek, step, live; events fire on time changes."""

from __future__ import annotations

import pytest

from twin_app.errors import TwinError
from twin_app.model.clock import NS, Clock

T0 = 1_700_000_000 * NS


def make() -> Clock:
    c = Clock()
    c.set_range(T0, T0 + 3600 * NS)
    c.seek(T0)
    return c


def test_advance_moves_only_when_playing_at_rate() -> None:
    c = make()
    c.advance(1.0)
    assert c.t_ns == T0
    c.play()
    c.set_rate(60)
    c.advance(0.5)
    assert c.t_ns == T0 + 30 * NS
    c.reverse()
    c.advance(0.25)
    assert c.t_ns == T0 + 15 * NS


def test_loop_and_stop_at_the_end() -> None:
    c = make()
    c.play()
    c.set_rate(10_000)
    c.advance(0.4)  # 4000 s into a 3600 s range: wraps to 400 s
    assert c.t_ns == T0 + 400 * NS
    c.loop = False
    c.advance(0.4)
    assert c.t_ns == T0 + 3600 * NS and not c.playing
    c.seek(T0 + 100 * NS)
    c.loop_start_ns, c.loop_end_ns = T0 + 100 * NS, T0 + 200 * NS
    c.loop = True
    c.play()
    c.set_rate(-1000)
    c.advance(0.05)  # -50 s from 100 s: wraps to the loop end minus 50 s
    assert c.t_ns == T0 + 150 * NS


def test_seek_step_clamp_and_events() -> None:
    c = make()
    seen: list[int] = []
    c.events.t_ns.connect(seen.append)
    c.step(90)
    c.seek(T0 - 999 * NS)
    assert seen == [T0 + 90 * NS, T0]
    with pytest.raises(TwinError, match="rate"):
        c.set_rate(20_000)
    with pytest.raises(TwinError):
        c.set_rate(0.5)


def test_live_follows_wall_time() -> None:
    c = make()
    c.go_live()
    c.advance(0.1, wall_now_ns=T0 + 5 * NS)
    assert c.t_ns == T0 + 5 * NS
    c.seek(T0)
    assert not c.live
