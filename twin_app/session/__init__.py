"""The application core, without Qt or VTK: the Session and its verbs.

Every front end (the window, the CLI, tests, video export, the wall) drives a :class:`Session`;
nothing here imports PySide6, pyvista or vtk. Twins open through :meth:`Session.open_twin`
(pure, worker-thread safe) and :meth:`Session.add_twin` (one undoable step); series layers are
made by the builders in :mod:`twin_app.session.builders`; the live feed, recorder and the tick
live in :mod:`twin_app.session.live`.
"""

from twin_app.io.source import ReadOptions
from twin_app.session.core import (
    Selection,
    Session,
    SessionLoad,
    SourceRef,
    load_session_sources,
    load_session_twins,
)
from twin_app.session.live import Live
from twin_app.session.twin import TwinLoad, format_twin_summary, is_twin, open_twin

__all__ = [
    "Live",
    "ReadOptions",
    "Selection",
    "Session",
    "SessionLoad",
    "SourceRef",
    "TwinLoad",
    "format_twin_summary",
    "is_twin",
    "load_session_sources",
    "load_session_twins",
    "open_twin",
]
