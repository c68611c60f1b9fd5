"""User-facing errors.

Every error a planner can meet is a :class:`TwinError` whose message is one line that names the
file or feed, the place (line, feature id, key) and what to do. The CLI prints ``str(err)`` and
exits non-zero; the UI shows it in the Messages panel. Tracebacks go to the log only.
"""

from __future__ import annotations


class TwinError(Exception):
    """Base class of all errors with a message meant for the user.

    The message is forced onto a single line so that it reads the same in the CLI, the log and
    the Messages panel.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        """The one-line message."""
        return str(self)


class InputError(TwinError):
    """A file or path cannot be read as city data (missing, broken, wrong kind)."""


class CRSError(InputError):
    """The coordinate reference system of a file is missing or unusable."""


class GeometryError(InputError):
    """Geometry that cannot be repaired (for example vertex indices out of range)."""


class SessionFileError(TwinError):
    """A session or scenario file is corrupt, of a newer version, or cannot be written."""


class CameraError(TwinError, ValueError):
    """A camera pose that cannot be shown (not finite, or degenerate)."""


class FeedError(TwinError):
    """A sensor feed (file replay or live broker) is broken or unreachable."""


class EngineError(TwinError):
    """A domain engine (traffic, water, sun ...) failed on its inputs."""


class CancelledError(TwinError):
    """Long work was cancelled by the user."""


class Cancelled(CancelledError):
    """An engine run stopped because its ``cancelled()`` callback answered true."""
