"""The application core, without Qt or VTK: the Session and its verbs.

Every front end (the window, the CLI, tests, video export, the wall) drives a :class:`Session`;
nothing here imports PySide6, pyvista or vtk.
"""

from twin_app.session.core import (
    Selection,
    Session,
    SourceRef,
    load_session_sources,
    load_session_twins,
)

__all__ = ["Selection", "Session", "SourceRef", "load_session_sources", "load_session_twins"]
