"""The Session: city + layers (+ clock, scenario and command stack as they arrive). Pure Python.

The UI and the render Scene observe the session's evented layer list; nothing here knows Qt
or VTK, so a session runs the same in the app, the CLI and a notebook.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from psygnal import Signal
from psygnal.containers import EventedList

from twin_app.io.load import LoadResult
from twin_app.io.source import ReadOptions
from twin_app.model.city import CityModel
from twin_app.model.frame import LocalFrame
from twin_app.model.layers import Layer, layer_for


@dataclass
class SourceRef:
    """A file the session loaded, with the options it was read with (saved in sessions)."""

    path: Path
    options: dict[str, Any] = field(default_factory=dict)

    def read_options(self) -> ReadOptions:
        """The :class:`ReadOptions` to read it again."""
        return ReadOptions(**self.options)


class Session:
    """What the user has open.

    Attributes
    ----------
    city
        All loaded feature sets in one frame (None until something is loaded).
    layers
        Evented list of layers, drawn bottom to top.
    sources
        Files loaded, in order, with their read options.
    messages
        Signal ``(level, text)`` for warnings and errors a user should see.
    """

    messages = Signal(str, str)

    def __init__(self) -> None:
        self.city: CityModel | None = None
        self.layers: EventedList[Layer] = EventedList()
        self.sources: list[SourceRef] = []

    @property
    def frame(self) -> LocalFrame | None:
        """The local frame, once anything is loaded."""
        return self.city.frame if self.city is not None else None

    def add_result(self, result: LoadResult, options: ReadOptions | None = None) -> list[Layer]:
        """Add what a load produced: its feature sets as new layers, its warnings as messages."""
        if self.city is None:
            self.city = result.city
        else:
            self.city.sets.extend(result.city.sets)
        opts = options or ReadOptions()
        seen: set[Path] = {s.path for s in self.sources}
        for src in result.sources:
            if src.path not in seen:
                self.sources.append(
                    SourceRef(src.path, {k: v for k, v in vars(opts).items() if v is not None})
                )
                seen.add(src.path)
            for w in src.report.warnings:
                self.messages.emit("warning", w)
        new: list[Layer] = [layer_for(fs) for fs in result.city.sets]
        self.layers.extend(new)
        return new

    def find_layer(self, uid: int) -> Layer | None:
        """The layer with this uid, if it is still in the session."""
        for layer in self.layers:
            if layer.uid == uid:
                return layer
        return None
