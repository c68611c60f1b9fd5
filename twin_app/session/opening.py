"""Open anything ``twin open`` takes into a session, synchronously: the headless front ends'
(CLI, video export, wall start-up) one way in. The window does the same steps on a worker."""

from __future__ import annotations

from pathlib import Path

from twin_app.errors import InputError
from twin_app.io.source import ReadOptions
from twin_app.session.core import Session
from twin_app.session.twin import TwinLoad, is_twin

SESSION_SUFFIX = ".twin.toml"


def open_paths(
    session: Session, paths: list[Path], options: ReadOptions | None = None
) -> list[TwinLoad]:
    """Open data files, twin folders (or their manifests) and a session file into `session`.

    A session file replaces the session's contents and must come alone; twin folders open
    with their replay series, sensor positions and networks (through
    :meth:`Session.open_twin` and :meth:`Session.add_twin`); other paths are read as data
    files into the same local frame.

    Parameters
    ----------
    session
        The session to open into.
    paths
        Files and folders, as the user named them.
    options
        Read options for data files.

    Returns
    -------
    list of TwinLoad
        The twins opened (their time zones and clock settings), in order.

    Raises
    ------
    TwinError
        A path cannot be opened (one line naming it).
    """
    sessions = [p for p in paths if p.name.endswith(SESSION_SUFFIX)]
    if sessions:
        if len(paths) > 1:
            raise InputError(
                f"{sessions[0]}: a session file opens alone (it replaces what is open); "
                "name it without other paths"
            )
        data = session.read_session_file(sessions[0])
        loaded = session.load_session_file(data, sessions[0])
        for w in session.restore(loaded):
            session.messages.emit("warning", f"{sessions[0].name}: {w}")
        return list(loaded.twins)
    twins: list[TwinLoad] = []
    files = [p for p in paths if not is_twin(p)]
    for p in paths:
        if is_twin(p):
            load = session.open_twin(p)
            session.add_twin(load, describe=False)
            twins.append(load)
    if files:
        session.add_result(session.load_files(files, options), options)
    return twins
