"""The live side of a session: an MQTT feed, a recorder, and the tick that drives the clock.

:class:`Live` belongs to a :class:`~twin_app.session.Session`. ``session.tick(dt_s)`` (called by
the window's timer, a headless loop or a test) drains the feed, records what arrived, appends it
to the stores that know its sensors and advances the clock. Messages go through
``session.messages``; the state a status bar shows is :attr:`Live.status`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from psygnal import Signal

from twin_app.errors import TwinError

if TYPE_CHECKING:
    from twin_app.session.core import Session


class Live:
    """Live feed and recorder of one session.

    Attributes
    ----------
    feed
        The connected :class:`twin_app.feeds.mqtt.LiveFeed` (None when not connected).
    recorder
        Collects live samples while recording (None otherwise).
    record_path
        Where the recording is written when it stops.
    silent_after_s
        Wall seconds without a message after which a connected feed is reported silent: an
        alert (rule :data:`FEED_SILENT`, one entry per broker, counting its silent spells) and
        a warning message; both clear when messages flow again.
    now
        The wall clock (seconds, monotonic) the silence is measured with; tests replace it.

    Signals
    -------
    changed()
        Connected, disconnected, recording started or stopped.
    """

    changed = Signal()

    def __init__(self, session: Session, silent_after_s: float = 60.0) -> None:
        self._session = session
        self.feed: Any = None
        self.recorder: Any = None
        self.record_path: Path | None = None
        self.silent_after_s = float(silent_after_s)
        self.now: Callable[[], float] = time.monotonic
        self._last_message_s: float | None = None
        self._silent_feed: Any = None  # the feed reported silent (None: not silent)

    # -- state ----------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """True while a feed is open (whatever its connection state)."""
        return self.feed is not None

    @property
    def recording(self) -> bool:
        """True while live samples are being recorded."""
        return self.recorder is not None

    @property
    def status(self) -> str:
        """One line for a status bar: ``MQTT host:port: state`` (empty when not connected)."""
        if self.feed is None:
            return ""
        return f"MQTT {self.feed.broker}: {self.feed.state.value}"

    # -- verbs ------------------------------------------------------------------------------------
    def connect(self, broker: str, mapping: Path | None = None) -> bool:
        """Subscribe to a broker; samples flow into the layers whose sensors they name.

        Returns False (with an error message) when the broker address or mapping is bad;
        network problems do not fail here: watch :attr:`status`.
        """
        from twin_app.feeds.mqtt import LiveFeed
        from twin_app.feeds.sensorthings import load_datastream_map

        self.disconnect()
        self._last_message_s = None
        try:
            dmap = load_datastream_map(mapping) if mapping is not None else None
            feed = LiveFeed(broker, mapping=dmap)
            feed.start()
        except TwinError as err:
            self._session.messages.emit("error", str(err))
            return False
        self.feed = feed
        self._session.clock.go_live()
        self._session.messages.emit("info", f"live feed: subscribed to {broker}")
        self.changed.emit()
        return True

    def disconnect(self) -> None:
        """Stop the live feed (and the recording, written to its file)."""
        self.stop_recording()
        if self.feed is not None:
            if self._silent_feed is self.feed:  # close the silence alert, without a message
                self._alert(False)
                self._silent_feed = None
            self._last_message_s = None
            self.feed.stop(wait=False)
            self.feed = None
            self._session.clock.live = False
            self.changed.emit()

    def start_recording(self, path: Path) -> None:
        """Collect every live sample from now on; written to `path` when recording stops."""
        from twin_app.feeds.recorder import Recorder

        self.stop_recording()
        self.recorder = Recorder()
        self.record_path = Path(path)
        self._session.messages.emit("info", f"recording live samples to {path}")
        self.changed.emit()

    def stop_recording(self) -> list[Path]:
        """Write what was recorded and stop; returns the files written (none when not recording
        or when writing failed, with an error message)."""
        if self.recorder is None or self.record_path is None:
            return []
        recorder, path = self.recorder, self.record_path
        self.recorder = None
        self.record_path = None
        try:
            paths = list(recorder.write(path))
        except TwinError as err:
            self._session.messages.emit("error", str(err))
            paths = []
        else:
            self._session.messages.emit(
                "info", f"recorded {len(recorder)} samples to {', '.join(str(p) for p in paths)}"
            )
        self.changed.emit()
        return paths

    def drain(self) -> tuple[int, int]:
        """Take in what the feed buffered: record it and append it to the layers' stores.

        Returns (used, unknown) sample counts.
        """
        if self.feed is None:
            return 0, 0
        samples = self.feed.drain()
        self._watch(bool(samples))
        if not samples:
            return 0, 0
        if self.recorder is not None:
            self.recorder.add(samples)
        return self._session.ingest(samples)

    # -- silence --------------------------------------------------------------------------------
    @property
    def silent_s(self) -> float:
        """Wall seconds since the feed's last message (or since it was connected); 0 without
        a feed."""
        if self.feed is None or self._last_message_s is None:
            return 0.0
        return max(self.now() - self._last_message_s, 0.0)

    def _watch(self, got_messages: bool) -> None:
        """Note a message (or none) at this tick and report the feed silent past the limit."""
        now = self.now()
        if got_messages or self._last_message_s is None:
            self._last_message_s = now
        self._report_silence(now - self._last_message_s >= self.silent_after_s)

    def _report_silence(self, silent: bool) -> None:
        feed = self.feed
        if feed is None or silent == (self._silent_feed is feed):
            if silent and feed is not None:  # still silent: keep the entry's last time current
                self._alert(True)
            return
        self._silent_feed = feed if silent else None
        self._alert(silent)
        broker = str(feed.broker)
        if silent:
            self._session.messages.emit(
                "warning",
                f"live feed {broker}: no message for {self.silent_after_s:g} s; check the "
                "sensors and the broker (an alert stays open until messages flow again)",
            )
        else:
            self._session.messages.emit("info", f"live feed {broker}: messages flow again")

    def _alert(self, holding: bool) -> None:
        from twin_app.model.alerts import FEED_SILENT

        assert self.feed is not None
        self._session.alerts.report(
            FEED_SILENT.format(s=self.silent_after_s),
            str(self.feed.broker),
            holding,
            int(self._session.clock.t_ns),
            round(self.silent_s, 1),
            layer_name="Live feed",
        )
