"""Threshold alerts: "value above x for at least d seconds", evaluated on whole arrays each tick."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from psygnal import Signal
from psygnal.containers import EventedList

from twin_app.errors import TwinError
from twin_app.model.layers import TimeLayer


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
    """

    name: str
    layer_uid: int
    threshold: float
    above: bool = True
    min_duration_s: float = 0.0
    field: str = "values"

    def __post_init__(self) -> None:
        if self.min_duration_s < 0 or not np.isfinite(self.threshold):
            raise TwinError(f"alert rule {self.name!r}: threshold must be finite and duration >= 0")


@dataclass(frozen=True)
class Alert:
    """One raised alert: when, where, which element, what value."""

    t_ns: int
    rule: str
    layer_uid: int
    layer_name: str
    element: int
    element_id: str
    value: float
    position: tuple[float, float, float]


class AlertEngine:
    """Evaluates rules each tick and keeps the list of raised alerts.

    For each rule and element it remembers since when the condition has held (-1: not
    holding). An alert is raised once when the condition has held for the rule's duration,
    and can be raised again after the condition clears. Going back in time (reverse play,
    seek) resets the memory; an episode already in the list (same rule and element within the
    rule's duration, at least a minute) is not listed twice when the period is replayed.
    """

    raised = Signal(object)

    def __init__(self, max_alerts: int = 10_000) -> None:
        self.rules: list[AlertRule] = []
        self.alerts: EventedList[Alert] = EventedList()
        self.max_alerts = max_alerts
        self._since: dict[AlertRule, np.ndarray[Any, Any]] = {}
        self._fired: dict[AlertRule, np.ndarray[Any, Any]] = {}
        self._last_t: int | None = None

    def add_rule(self, rule: AlertRule) -> None:
        """Start evaluating a rule."""
        self.rules.append(rule)

    def remove_rule(self, rule: AlertRule) -> None:
        """Stop evaluating a rule."""
        self.rules.remove(rule)
        self._since.pop(rule, None)
        self._fired.pop(rule, None)

    def reset(self) -> None:
        """Forget how long conditions have held."""
        self._since.clear()
        self._fired.clear()
        self._last_t = None

    def evaluate(self, t_ns: int, layers: Mapping[int, TimeLayer]) -> list[Alert]:
        """Test every rule at time `t_ns` against the layers (uid -> layer); return new alerts."""
        if self._last_t is not None and t_ns < self._last_t:
            self.reset()
        self._last_t = t_ns
        new: list[Alert] = []
        for rule in self.rules:
            layer = layers.get(rule.layer_uid)
            if layer is None:
                continue
            values = np.asarray(getattr(layer, rule.field), np.float64)
            with np.errstate(invalid="ignore"):
                cond = values > rule.threshold if rule.above else values < rule.threshold
            cond &= np.isfinite(values)
            since = self._since.get(rule)
            fired = self._fired.get(rule)
            if since is None or since.shape != values.shape or fired is None:
                since = np.full(values.shape, -1, np.int64)
                fired = np.zeros(values.shape, bool)
            since[cond & (since < 0)] = t_ns
            since[~cond] = -1
            fired[~cond] = False
            due = cond & ~fired & ((t_ns - since) >= round(rule.min_duration_s * 1e9))
            fired |= due
            self._since[rule], self._fired[rule] = since, fired
            for i in np.flatnonzero(due):  # only the elements that just crossed: usually none
                if not self._known(rule, rule.layer_uid, int(i), t_ns):
                    new.append(self._make(rule, layer, int(i), float(values[i]), t_ns))
        if new:
            self.alerts.extend(new)
            overflow = len(self.alerts) - self.max_alerts
            if overflow > 0:
                del self.alerts[:overflow]
            for a in new:
                self.raised.emit(a)
        return new

    def _known(self, rule: AlertRule, layer_uid: int, element: int, t_ns: int) -> bool:
        """True if this episode was already raised (replaying a period after seeking back)."""
        window = round(max(rule.min_duration_s, 60.0) * 1e9)
        return any(
            a.rule == rule.name
            and a.layer_uid == rule.layer_uid
            and a.element == element
            and abs(a.t_ns - t_ns) <= window
            for a in self.alerts
        )

    @staticmethod
    def _make(rule: AlertRule, layer: TimeLayer, i: int, value: float, t_ns: int) -> Alert:
        ids = layer.element_ids(rule.field)
        eid = str(ids[i]) if ids is not None and i < len(ids) else str(i)
        pos = [float(v) for v in layer.element_position(i, rule.field)]
        return Alert(
            t_ns,
            rule.name,
            rule.layer_uid,
            str(layer.name),
            i,
            eid,
            value,
            (pos[0], pos[1], pos[2]),
        )
