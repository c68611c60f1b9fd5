"""Alerts: "value above x for at least d seconds", "sensor silent for n seconds" and conditions
reported from outside (a live feed gone quiet), evaluated on whole arrays each tick.

The list holds ONE entry per rule and element (issue 10: replaying the sample twin listed 83
alerts, 36 in the first seconds). An entry counts its episodes (each time the condition started
to hold for the rule's duration after having cleared), keeps the first and the last time the
condition held, the latest and the peak value, whether it holds now (``active``) and whether a
user acknowledged it; a new episode re-opens an acknowledged entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from psygnal import Signal
from psygnal.containers import EventedList

from twin_app.errors import TwinError
from twin_app.model.layers import TimeLayer

#: Rule name of the alert a live feed raises when it has sent nothing for a while.
FEED_SILENT = "Live feed silent for {s:g} s"
#: Alert severities, least severe first.
SEVERITIES = ("info", "warning", "critical")
#: Clock seconds between refreshes of an active entry's last time and values (the arrays behind
#: them are updated every evaluation; this only limits list events while a condition holds).
REFRESH_S = 300.0
#: An episode raised within this many clock seconds of an entry's known span is the same
#: episode seen again (replaying after a seek back, or a condition flickering off and on).
SAME_EPISODE_S = 60.0

F64 = np.ndarray[Any, np.dtype[np.float64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]
B = np.ndarray[Any, np.dtype[np.bool_]]


def _check_severity(name: str, severity: str) -> None:
    if severity not in SEVERITIES:
        raise TwinError(
            f"alert rule {name!r}: severity {severity!r} is not one of {', '.join(SEVERITIES)}"
        )


@dataclass(frozen=True)
class AlertRule:
    """A condition on one layer's per-element values.

    Attributes
    ----------
    name
        Shown in the Alerts panel ("PM2.5 AQI above 150").
    layer_uid
        The layer whose ``values`` (or the attribute named by `field`) is tested.
    threshold
        The value to compare with.
    above
        True: alert when value > threshold; False: when value < threshold.
    min_duration_s
        The condition must hold this long (simulated time) before the alert is raised.
    field
        Which per-element array of the layer to test (default ``values``).
    severity
        ``info``, ``warning`` (default) or ``critical``: the panel filters on it.
    """

    name: str
    layer_uid: int
    threshold: float
    above: bool = True
    min_duration_s: float = 0.0
    field: str = "values"
    severity: str = "warning"

    def __post_init__(self) -> None:
        if self.min_duration_s < 0 or not np.isfinite(self.threshold):
            raise TwinError(f"alert rule {self.name!r}: threshold must be finite and duration >= 0")
        _check_severity(self.name, self.severity)

    def condition(self, layer: TimeLayer, t_ns: int) -> tuple[B, F64, str]:
        """(holds, value, field) per element of `layer` at `t_ns`: NaN values never hold."""
        values = np.asarray(getattr(layer, self.field), np.float64)
        with np.errstate(invalid="ignore"):
            cond = values > self.threshold if self.above else values < self.threshold
        return np.asarray(cond & np.isfinite(values), bool), values, self.field


@dataclass(frozen=True)
class SilenceRule:
    """A sensor of a layer sent no valid sample for `silent_s` seconds of clock time.

    Holds for a sensor whose last valid sample at or before the clock time is older than
    ``silent_s`` (and that has sent one before: a sensor that has not started yet is not
    silent). Read from the layer's store in two vectorised look-ups per evaluation; the value
    is the silence in seconds where the store can say (at or after its newest sample, i.e.
    live), else NaN. An air-quality station is silent when all its pollutant series are.

    Attributes
    ----------
    name
        Shown in the Alerts panel ("Sensor silent for 2 h").
    layer_uid
        The layer whose store is watched.
    silent_s
        Clock seconds without a sample before the alert is raised (> 0).
    severity
        ``info``, ``warning`` (default) or ``critical``.
    """

    name: str
    layer_uid: int
    silent_s: float
    severity: str = "warning"
    min_duration_s: float = 0.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.silent_s) and self.silent_s > 0):
            raise TwinError(f"silence rule {self.name!r}: silent_s must be a positive number")
        _check_severity(self.name, self.severity)

    def condition(self, layer: TimeLayer, t_ns: int) -> tuple[B, F64, str]:
        """(silent, seconds silent or NaN, field) per element of `layer` at `t_ns`."""
        store: Any = getattr(layer, "store", None)
        if store is None:
            return np.zeros(0, bool), np.zeros(0), "values"
        fresh = np.isfinite(np.asarray(store.values_at(t_ns, "last", self.silent_s), np.float64))
        ever = fresh
        if fresh.all():  # the usual tick: every sensor has spoken lately
            silent = np.zeros(fresh.shape, bool)
        else:
            ever = np.isfinite(np.asarray(store.values_at(t_ns, "last", None), np.float64))
            silent = ever & ~fresh
        age = np.full(silent.shape, np.nan)
        last = getattr(store, "last_sample_ns", None)
        span = store.time_range()
        if last is not None and span is not None and t_ns >= span[1]:
            age = (t_ns - np.asarray(last, np.float64)) / 1e9
        columns = getattr(layer, "columns", None)
        if isinstance(columns, np.ndarray) and columns.ndim == 2:
            # stations: silent when one of their series has started and none is fresh
            has = columns >= 0
            col = np.maximum(columns, 0)
            sil = (has & ever[col]).any(axis=1) & ~(has & fresh[col]).any(axis=1)
            ages = np.where(has & np.isfinite(age[col]), age[col], np.inf).min(axis=1)
            st_age = np.where(np.isfinite(ages), ages, np.nan).astype(np.float64)
            return np.asarray(sil, bool), st_age, "values"
        fld = "sensor_ratio" if hasattr(layer, "sensor_ratio") else "values"
        return silent, age, fld


Rule = AlertRule | SilenceRule


@dataclass(frozen=True)
class Alert:
    """One rule on one element: when, where, what value, how often.

    Attributes
    ----------
    t_ns
        When it was first raised (UTC ns).
    rule, layer_uid, layer_name, element, element_id, value, position
        The rule's name, the layer, the element (index and source id), the latest value and
        where the element is.
    last_ns
        The last time the condition was seen holding.
    episode_ns
        When the latest episode was raised.
    count
        Episodes so far.
    peak
        The most extreme value seen (highest for "above" rules, lowest for "below" ones).
    severity
        ``info``, ``warning`` or ``critical``.
    active
        The condition holds now.
    acknowledged
        A user acknowledged it (shown dimmed); a new episode clears this.
    """

    t_ns: int
    rule: str
    layer_uid: int
    layer_name: str
    element: int
    element_id: str
    value: float
    position: tuple[float, float, float]
    last_ns: int = 0
    episode_ns: int = 0
    count: int = 1
    peak: float = float("nan")
    severity: str = "warning"
    active: bool = True
    acknowledged: bool = False

    @property
    def key(self) -> tuple[str, int, str]:
        """(rule, layer uid, element id): one entry per key."""
        return (self.rule, self.layer_uid, self.element_id)


@dataclass
class _RuleState:
    """Per-element memory of one rule: since when the condition holds (-1 none), whether the
    current episode was raised, and the latest time, value and peak while raised."""

    since: I64
    fired: B
    last: I64
    value: F64
    peak: F64
    refreshed: I64
    field: str = "values"

    @classmethod
    def empty(cls, n: int, fld: str) -> _RuleState:
        return cls(
            np.full(n, -1, np.int64),
            np.zeros(n, bool),
            np.zeros(n, np.int64),
            np.full(n, np.nan),
            np.full(n, np.nan),
            np.zeros(n, np.int64),
            fld,
        )


class AlertEngine:
    """Evaluates rules each tick and keeps one entry per rule and element.

    For each rule and element it remembers since when the condition has held (-1: not
    holding). An episode is raised when the condition has held for the rule's duration; it
    opens a new entry, or counts on the entry of that rule and element (re-opening it when
    acknowledged). While it holds, the entry's last time, latest and peak values follow (list
    events at most every :data:`REFRESH_S` clock seconds); when it clears the entry turns
    inactive. Going back in time (reverse play, seek) resets the memory; an episode raised
    within the span an entry already covers is not counted twice when the period is replayed.

    Signals
    -------
    raised(Alert)
        A new episode: a new entry or a re-opened one.
    """

    raised = Signal(object)

    def __init__(self, max_alerts: int = 10_000) -> None:
        self.rules: list[Rule] = []
        self.alerts: EventedList[Alert] = EventedList()
        self.max_alerts = max_alerts
        self._state: dict[Rule, _RuleState] = {}
        self._last_t: int | None = None
        self._index: dict[tuple[str, int, str], int] = {}
        self.alerts.events.removed.connect(self._reindex)
        self.alerts.events.inserted.connect(self._on_inserted)

    # -- rules -------------------------------------------------------------------------------
    def add_rule(self, rule: Rule) -> None:
        """Start evaluating a rule."""
        self.rules.append(rule)

    def remove_rule(self, rule: Rule) -> None:
        """Stop evaluating a rule."""
        self.rules.remove(rule)
        self._state.pop(rule, None)

    def reset(self) -> None:
        """Forget how long conditions have held (the entries stay)."""
        self._state.clear()
        self._last_t = None

    # -- the list ----------------------------------------------------------------------------
    def _reindex(self, *_: object) -> None:
        self._index = {a.key: i for i, a in enumerate(self.alerts)}

    def _on_inserted(self, index: int, alert: Alert) -> None:
        if index == len(self.alerts) - 1:
            self._index[alert.key] = index
        else:
            self._reindex()

    def find(self, key: tuple[str, int, str]) -> int:
        """Row of the entry with this (rule, layer uid, element id) key; -1 if none."""
        return self._index.get(key, -1)

    def acknowledge(self, rows: list[int] | None = None) -> None:
        """Mark entries acknowledged (all when `rows` is None); they re-open on a new episode."""
        for i in range(len(self.alerts)) if rows is None else rows:
            a = self.alerts[i]
            if not a.acknowledged:
                self.alerts[i] = replace(a, acknowledged=True)

    def _put(self, alert: Alert) -> None:
        i = self.find(alert.key)
        if i < 0:
            self.alerts.append(alert)
            overflow = len(self.alerts) - self.max_alerts
            if overflow > 0:
                del self.alerts[:overflow]
        else:
            self.alerts[i] = alert

    def _episode(self, rule: Rule, make: Alert, t_ns: int) -> Alert | None:
        """Record an episode raised at `t_ns`; returns the entry when it is a new episode
        (not one already counted: replaying a period after a seek back)."""
        i = self.find(make.key)
        if i < 0:
            self._put(make)
            return make
        old = self.alerts[i]
        window = round(SAME_EPISODE_S * 1e9)
        seen = old.t_ns - window <= t_ns <= max(old.last_ns, old.episode_ns) + window
        new = replace(
            old,
            value=make.value,
            last_ns=max(old.last_ns, t_ns),
            active=True,
            peak=_extreme(rule, old.peak, make.value),
        )
        if not seen:
            new = replace(
                new,
                t_ns=min(old.t_ns, t_ns),
                episode_ns=t_ns,
                count=old.count + 1,
                acknowledged=False,
            )
        self.alerts[i] = new
        return None if seen else new

    def report(
        self,
        rule: str,
        element_id: str,
        holding: bool,
        t_ns: int,
        value: float = float("nan"),
        *,
        severity: str = "warning",
        layer_name: str = "",
        layer_uid: int = -1,
        element: int = 0,
        position: tuple[float, float, float] = (0.0, 0.0, 0.0),
    ) -> Alert | None:
        """Report a condition evaluated elsewhere (a live feed gone silent): an episode starts
        when `holding` turns True and ends when it turns False. Returns the entry when an
        episode was raised (also emitted through :attr:`raised`)."""
        _check_severity(rule, severity)
        key = (rule, layer_uid, element_id)
        i = self.find(key)
        old = self.alerts[i] if i >= 0 else None
        if not holding:
            if old is not None and old.active:
                self.alerts[i] = replace(old, active=False, last_ns=max(old.last_ns, t_ns))
            return None
        if old is not None and old.active:
            if t_ns - old.last_ns >= round(REFRESH_S * 1e9):
                peak = float(np.fmax(old.peak, value))
                self.alerts[i] = replace(old, last_ns=t_ns, value=value, peak=peak)
            return None
        make = Alert(
            t_ns, rule, layer_uid, layer_name, element, element_id, value, position,
            last_ns=t_ns, episode_ns=t_ns, peak=value, severity=severity,
        )  # fmt: skip
        if old is not None:  # a new episode of a known condition: count it, re-open it
            new = replace(
                old, value=value, last_ns=t_ns, episode_ns=t_ns, count=old.count + 1,
                active=True, acknowledged=False, severity=severity,
            )  # fmt: skip
            self.alerts[i] = new
        else:
            new = make
            self._put(new)
        self.raised.emit(new)
        return new

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, t_ns: int, layers: Mapping[int, TimeLayer]) -> list[Alert]:
        """Test every rule at time `t_ns` against the layers (uid -> layer); return the entries
        of the episodes raised now (new entries and re-opened ones)."""
        if self._last_t is not None and t_ns < self._last_t:
            self._flush(layers)
            self.reset()
        self._last_t = t_ns
        new: list[Alert] = []
        for rule in self.rules:
            layer = layers.get(rule.layer_uid)
            if layer is None:
                continue
            cond, values, fld = rule.condition(layer, t_ns)
            st = self._state.get(rule)
            if st is None or st.since.shape != values.shape or st.field != fld:
                st = self._state[rule] = _RuleState.empty(values.shape[0], fld)
            if not st.fired.any() and not cond.any():  # the usual tick: nothing holds
                st.since.fill(-1)
                continue
            ended = st.fired & ~cond
            st.since[cond & (st.since < 0)] = t_ns
            st.since[~cond] = -1
            due = cond & ~st.fired & ((t_ns - st.since) >= round(rule.min_duration_s * 1e9))
            held = cond & (st.fired | due)
            st.fired[~cond] = False
            st.fired |= due
            st.last[held] = t_ns
            st.value[held] = values[held]
            st.peak[due] = np.nan  # a new episode starts its own peak
            pk, v = st.peak[held], values[held]
            lower = isinstance(rule, AlertRule) and not rule.above
            st.peak[held] = np.fmin(pk, v) if lower else np.fmax(pk, v)
            refresh = held & ~due & (t_ns - st.refreshed >= round(REFRESH_S * 1e9))
            # the loops below visit only elements whose entry changes: usually none per tick
            for i in np.flatnonzero(ended):
                self._write(rule, layer, int(i), st, active=False)
            for i in np.flatnonzero(refresh):
                st.refreshed[i] = t_ns
                self._write(rule, layer, int(i), st, active=True)
            for i in np.flatnonzero(due):
                st.refreshed[i] = t_ns
                a = self._raise(rule, layer, int(i), st, t_ns)
                if a is not None:
                    new.append(a)
        for a in new:
            self.raised.emit(a)
        return new

    def _flush(self, layers: Mapping[int, TimeLayer]) -> None:
        """Write the held values of every raised episode into its entry (before a reset)."""
        for rule, st in self._state.items():
            layer = layers.get(rule.layer_uid)
            if layer is not None:
                for i in np.flatnonzero(st.fired):
                    self._write(rule, layer, int(i), st, active=True)

    def _write(self, rule: Rule, layer: TimeLayer, i: int, st: _RuleState, active: bool) -> None:
        """Bring the entry of element `i` up to the rule's memory (last time, values)."""
        j = self.find((rule.name, rule.layer_uid, _element_id(layer, i, st.field)))
        if j < 0:
            return
        a = self.alerts[j]
        self.alerts[j] = replace(
            a,
            last_ns=max(a.last_ns, int(st.last[i])),
            value=float(st.value[i]),
            peak=_extreme(rule, a.peak, float(st.peak[i])),
            active=active,
        )

    def _raise(
        self, rule: Rule, layer: TimeLayer, i: int, st: _RuleState, t_ns: int
    ) -> Alert | None:
        eid = _element_id(layer, i, st.field)
        pos = [float(v) for v in layer.element_position(i, st.field)]
        value = float(st.value[i])
        make = Alert(
            t_ns, rule.name, rule.layer_uid, str(layer.name), i, eid, value,
            (pos[0], pos[1], pos[2]), last_ns=t_ns, episode_ns=t_ns, peak=value,
            severity=rule.severity,
        )  # fmt: skip
        return self._episode(rule, make, t_ns)


def _extreme(rule: Rule, a: float, b: float) -> float:
    """The more extreme of two values for the rule (NaN-ignoring): lowest for "below" rules."""
    if not np.isfinite(a):
        return b
    if not np.isfinite(b):
        return a
    return min(a, b) if isinstance(rule, AlertRule) and not rule.above else max(a, b)


def _element_id(layer: TimeLayer, i: int, fld: str) -> str:
    ids = layer.element_ids(fld)
    return str(ids[i]) if ids is not None and i < len(ids) else str(i)
