"""The live MQTT client: subscribe to a broker and buffer parsed samples for the tick.

The MQTT network thread never touches a model. It parses each message with
:func:`twin_app.feeds.sensorthings.parse_observation` (topics, payloads and the datastream
mapping are described there) and appends the :class:`~twin_app.feeds.sensorthings.Sample` to a
thread-safe buffer; the application core (or the CLI recorder) calls :meth:`LiveFeed.drain`
once per tick and hands the samples to the store on its own thread.

Reliability
-----------
:class:`LiveFeed` subscribes with QoS 1 on a persistent MQTT 3.1.1 session
(``clean_session=False`` with a stable client id), so the broker queues what is published while
the twin is away (closed, network down, broker restarting) and delivers it on reconnect. paho
reconnects by itself with exponential backoff from 1 s to 30 s. Mosquitto queues at most
``max_queued_messages`` (default 1000) per offline client; raise it in ``mosquitto.conf`` for
long outages or fast replays, and enable ``persistence`` so sessions survive a broker restart.
QoS 1 is "at least once": after a broker crash a few messages may arrive twice.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import logging
import socket
import sys
import threading
from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING

from psygnal import Signal

from twin_app.errors import FeedError
from twin_app.feeds.sensorthings import (
    DEFAULT_TOPICS,
    MOVER_PREFIX,
    DatastreamMap,
    FeedStats,
    Sample,
    parse_observation,
)

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt
    from paho.mqtt.properties import Properties
    from paho.mqtt.reasoncodes import ReasonCode

log = logging.getLogger(__name__)

#: Default MQTT port.
DEFAULT_PORT = 1883


# --------------------------------------------------------------------------------------------
# Broker addresses and client ids


def parse_broker(broker: str) -> tuple[str, int]:
    """``"host:port"``, ``"host"`` (port 1883), ``"[::1]:1883"`` or ``"mqtt://host:port"``.

    Raises
    ------
    FeedError
        If the port is not an integer in 1..65535 or the host is empty.
    """
    text = broker.strip()
    for scheme in ("mqtt://", "tcp://"):
        if text.startswith(scheme):
            text = text[len(scheme) :]
    text = text.rstrip("/")
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        host, rest = text[1:end], text[end + 1 :]
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        port = -1
    if not host or not 1 <= port <= 65535:
        raise FeedError(
            f"broker {broker!r}: expected HOST:PORT with a port in 1..65535, e.g. localhost:1883"
        )
    return host, port


def default_client_id(kind: str = "live") -> str:
    """A client id that is stable for this user on this machine (so the session persists).

    Two twins run by the same user on the same machine share it; give one of them its own
    ``client_id`` or the broker will keep disconnecting the other.
    """
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "user"
    digest = hashlib.sha1(f"{user}@{socket.gethostname()}".encode(), usedforsecurity=False)
    return f"twin-{kind}-{digest.hexdigest()[:10]}"


def _os_error_text(exc: BaseException | None) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError | socket.timeout):
        return "timed out"
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return "cannot connect"


def _new_client(client_id: str, persistent: bool) -> mqtt.Client:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=not persistent,
        protocol=mqtt.MQTTv311,
    )


# --------------------------------------------------------------------------------------------
# The live feed


class FeedState(StrEnum):
    """Connection state of a :class:`LiveFeed`."""

    CONNECTING = "connecting"  # started, first connection not yet made
    CONNECTED = "connected"  # connected (subscriptions may still be on their way)
    RECONNECTING = "reconnecting"  # lost an established connection, retrying with backoff
    DISCONNECTED = "disconnected"  # stopped, or never started
    REFUSED = "refused"  # the broker cannot be reached or refused us; retrying with backoff


class LiveFeed:
    """Subscribe to a broker and buffer parsed samples until the GUI drains them.

    Parameters
    ----------
    broker
        ``"host:port"`` (see :func:`parse_broker`).
    topics
        Topic filters to subscribe to with QoS 1.
    mapping
        Datastream id -> sensor id; None means the datastream id is the sensor id.
    client_id
        Stable MQTT client id; the broker keeps the session (subscriptions and queued QoS 1
        messages) under it. Default: :func:`default_client_id`.
    persistent
        Keep the session on the broker while disconnected (``clean_session=False``).
    username, password
        Broker credentials, if it requires them.
    keepalive_s
        MQTT keep-alive; a dead connection is noticed after about 1.5 times this.
    min_delay_s, max_delay_s
        Reconnect backoff: the wait doubles from ``min_delay_s`` up to ``max_delay_s``.
    max_buffer
        Samples kept until :meth:`drain`; more are dropped and counted as ``queue_full``.
    mover_prefix
        Topic prefix of mover messages.

    Attributes
    ----------
    state_changed : psygnal.Signal
        Emitted with the new :class:`FeedState` on every change. It fires on the MQTT network
        thread: connect with ``thread=`` (psygnal) or hop to the GUI thread yourself.

    Examples
    --------
    >>> feed = LiveFeed("localhost:1883")          # doctest: +SKIP
    >>> feed.start()                                # doctest: +SKIP
    >>> for sample in feed.drain():                 # each GUI tick  # doctest: +SKIP
    ...     store.append(sample)
    """

    state_changed = Signal(str)

    def __init__(
        self,
        broker: str = f"localhost:{DEFAULT_PORT}",
        *,
        topics: Sequence[str] = DEFAULT_TOPICS,
        mapping: DatastreamMap | None = None,
        client_id: str | None = None,
        persistent: bool = True,
        username: str | None = None,
        password: str | None = None,
        keepalive_s: int = 30,
        min_delay_s: int = 1,
        max_delay_s: int = 30,
        max_buffer: int = 1_000_000,
        mover_prefix: str = MOVER_PREFIX,
    ) -> None:
        self.host, self.port = parse_broker(broker)
        if not topics:
            raise FeedError(f"broker {self.broker}: no topics to subscribe to")
        self.topics = tuple(topics)
        self.mapping = mapping
        self.client_id = client_id or default_client_id("live")
        self.persistent = persistent
        self.username = username
        self.password = password
        self.keepalive_s = keepalive_s
        self.min_delay_s = min_delay_s
        self.max_delay_s = max_delay_s
        self.max_buffer = max_buffer
        self.mover_prefix = mover_prefix
        self._lock = threading.Lock()
        self._buffer: list[Sample] = []
        self._stats = FeedStats()
        self._state = FeedState.DISCONNECTED
        self._last_error: str | None = None
        self._ever_connected = False
        self._pending_subs: set[int] = set()
        self._ready = threading.Event()
        self._client: mqtt.Client | None = None

    # -- public state ------------------------------------------------------------------------

    @property
    def broker(self) -> str:
        """``host:port``."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    @property
    def state(self) -> FeedState:
        """The connection state."""
        return self._state

    @property
    def last_error(self) -> str | None:
        """The last connection problem as a one-line message; None once connected."""
        return self._last_error

    @property
    def stats(self) -> FeedStats:
        """A snapshot of the message counts."""
        with self._lock:
            return self._stats.copy()

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._client is not None

    # -- control -----------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background and keep connected until :meth:`stop`. Never raises on
        network problems: watch :attr:`state` and :attr:`last_error`."""
        if self._client is not None:
            return
        client = _new_client(self.client_id, self.persistent)
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        client.reconnect_delay_set(min_delay=self.min_delay_s, max_delay=self.max_delay_s)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        self._ever_connected = False
        self._ready.clear()
        self._client = client
        self._set_state(FeedState.CONNECTING)
        client.connect_async(self.host, self.port, keepalive=self.keepalive_s)
        client.loop_start()

    def stop(self, wait: bool = True) -> None:
        """Disconnect (the broker keeps a persistent session) and stop the network thread.

        Parameters
        ----------
        wait
            Join the network thread before returning. When paho is sleeping before a retry,
            joining takes up to 1 s, so the GUI passes ``wait=False``: the thread then ends in
            the background, and samples it still receives land in the buffer for the next
            :meth:`drain`. The CLI recorder waits, so that nothing arrives after its last drain.
        """
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):
            client.disconnect()
        if wait:
            client.loop_stop()
        else:
            threading.Thread(target=client.loop_stop, name="mqtt-stop", daemon=True).start()
        self._ready.clear()
        self._set_state(FeedState.DISCONNECTED)

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        """Block until connected and every subscription is acknowledged; False on timeout."""
        return self._ready.wait(timeout_s)

    def drain(self) -> list[Sample]:
        """All samples received since the last call, in arrival order (thread-safe)."""
        with self._lock:
            out, self._buffer = self._buffer, []
        return out

    def __enter__(self) -> LiveFeed:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- paho callbacks (network thread) -------------------------------------------------------

    def _set_state(self, state: FeedState, error: str | None = None) -> None:
        # The error first: a reader that sees the new state must also see its reason.
        if error is not None or state == FeedState.CONNECTED:
            if error is not None and error != self._last_error:
                log.warning("%s", error)
            self._last_error = error
        changed = state != self._state
        self._state = state
        if changed:
            log.info("MQTT feed %s: %s", self.broker, state.value)
            self.state_changed.emit(state)

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if client is not self._client:
            return  # a stopped client still winding down
        if reason_code.is_failure:
            self._set_state(
                FeedState.REFUSED,
                f"broker {self.broker} refused the connection ({reason_code}); check the "
                "user name, password and the broker's access rules",
            )
            return
        self._ever_connected = True
        with self._lock:
            self._pending_subs.clear()
            for topic in self.topics:
                _rc, mid = client.subscribe(topic, qos=1)
                if mid is not None:
                    self._pending_subs.add(mid)
        self._set_state(FeedState.CONNECTED)
        log.info(
            "MQTT feed %s: connected as %r (session %s)",
            self.broker,
            self.client_id,
            "resumed" if flags.session_present else "new",
        )

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        if client is not self._client:
            return
        # paho calls this from inside its `except OSError:` block, so the error is at hand.
        why = _os_error_text(sys.exception())
        state = FeedState.RECONNECTING if self._ever_connected else FeedState.REFUSED
        self._set_state(
            state,
            f"broker {self.broker}: {why}; is the broker running and is HOST:PORT right? "
            f"retrying every {self.min_delay_s}..{self.max_delay_s} s",
        )

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: object,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        if client is not self._client:
            return  # stop() is in charge
        self._ready.clear()
        if self._state == FeedState.REFUSED:
            return  # keep the refusal message while paho retries
        self._set_state(
            FeedState.RECONNECTING,
            f"broker {self.broker}: connection lost ({reason_code}); reconnecting",
        )

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        if client is not self._client:
            return
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            self._last_error = (
                f"broker {self.broker} refused a subscription ({failed[0]}); check its access "
                f"rules for {', '.join(self.topics)}"
            )
            log.warning("%s", self._last_error)
        with self._lock:
            self._pending_subs.discard(mid)
            done = not self._pending_subs
        if done:
            self._ready.set()

    def _on_message(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        # An exception escaping a paho callback would kill the network thread: catch all.
        try:
            with self._lock:
                sample = parse_observation(
                    message.topic,
                    message.payload,
                    self.mapping,
                    self._stats,
                    mover_prefix=self.mover_prefix,
                )
                if sample is None:
                    return
                if len(self._buffer) >= self.max_buffer:
                    self._stats.accepted -= 1
                    if self._stats.reject("queue_full") == 1:
                        log.warning("MQTT feed %s: buffer full, dropping samples", self.broker)
                    return
                self._buffer.append(sample)
        except Exception:
            log.exception("MQTT feed %s: cannot handle a message on %r", self.broker, message.topic)
            with self._lock:
                self._stats.reject("internal_error")
