"""TOML files read into pydantic models: the parts story and scenario files share.

A file of this kind (:mod:`twin_app.io.story_file`, :mod:`twin_app.scenarios.file`) has a
``schema`` key first, unknown keys and non-finite numbers are errors, paths in it are relative
to the file and held absolute once read, and every bad file gives one
:class:`~twin_app.errors.InputError` line naming the file and the key::

    /data/s.toml: key 'interventions[1].links': must not be empty

Each file format keeps its own schema, its own key-path wording (``_loc_text``) and the error
kinds only it has; this module has the rest.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationError, ValidationInfo

from twin_app.errors import InputError


class StrictModel(BaseModel):
    """A model of a file's table: frozen, no unknown keys, no inf or nan, keys by alias or name."""

    model_config = ConfigDict(
        extra="forbid", frozen=True, allow_inf_nan=False, populate_by_name=True
    )


class FileModel(StrictModel):
    """A whole file's model, compared by what the file says.

    A subclass has a ``file`` field (where it was read from) excluded from its dump: two
    models are equal when they say the same thing about the same files, wherever they were
    read from.
    """

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, type(self)):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    def __hash__(self) -> int:
        return hash(self.model_dump_json())


FM = TypeVar("FM", bound=FileModel)


def norm_path(path: str | Path) -> Path:
    """Absolute and normalised (``..`` folded) without resolving symlinks.

    Symlinks are kept so that :func:`os.path.relpath` of a saved file round-trips.
    """
    return Path(os.path.normpath(Path(path).absolute()))


def _base_dir(info: ValidationInfo) -> Path:
    ctx = info.context if isinstance(info.context, Mapping) else {}
    base = ctx.get("base_dir")
    return Path(base) if base is not None else Path.cwd()


def _absolute(path: Path, info: ValidationInfo) -> Path:
    return norm_path(_base_dir(info) / path)


#: A path the file writes relative to itself; validated into an absolute one against the
#: ``base_dir`` of the validation context (default: the current directory).
RelativePath = Annotated[Path, AfterValidator(_absolute)]


def check_lonlat(value: tuple[float, float] | None, what: str) -> tuple[float, float] | None:
    """A field validator's check of a ``[lon, lat]`` pair in WGS 84 degrees (None passes);
    `what` names it in the message (``"at must be [lon, lat] in degrees"``)."""
    if value is not None and not (-180 <= value[0] <= 180 and -90 <= value[1] <= 90):
        raise ValueError(f"{what} must be [lon, lat] in degrees")
    return value


def error_text(err: Mapping[str, Any], noun: str, schema_version: int) -> str:
    """What one pydantic error means, in the words of the file's reader.

    Parameters
    ----------
    err
        One entry of :meth:`ValidationError.errors`.
    noun
        The kind of file (``"story"``): unknown keys are "not part of story schema 1".
    schema_version
        The schema this code reads.
    """
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return f"unknown key (not part of {noun} schema {schema_version}; check the spelling)"
    if kind == "missing":
        return "required key missing"
    if kind == "finite_number":
        return "must be a finite number (not inf or nan)"
    if kind == "literal_error" and err.get("loc", ("",))[0] in ("schema", "schema_version"):
        return (
            f"schema {err.get('input')!r} is not supported: this version reads schema "
            f"{schema_version}"
        )
    msg = str(err.get("msg", "invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    return msg[:1].lower() + msg[1:]


def validation_message(
    label: str,
    exc: ValidationError,
    err: Mapping[str, Any],
    loc_text: Callable[[tuple[int | str, ...]], str],
    what: Callable[[Mapping[str, Any]], str],
    count_others: bool = False,
) -> str:
    """The one line an :class:`InputError` says for a failed validation.

    ``"{label}: key {key path!r}: {what is wrong} (found {value})"``, the value shown when it
    is a plain one (not for a missing key or an unknown ``kind``, which ``what`` names).

    Parameters
    ----------
    label
        The file (or what stands for it).
    exc
        The pydantic error.
    err
        The one of its errors to tell.
    loc_text
        The error's ``loc`` as the key path of the file (``steps[2].duration_s``).
    what
        What the error means (:func:`error_text` and the format's own kinds).
    count_others
        Add "; and N more problems" when ``exc`` has other errors.
    """
    loc = loc_text(tuple(err.get("loc", ())))
    got = err.get("input")
    shown = ""
    if err.get("type") not in ("missing", "union_tag_invalid") and isinstance(
        got, str | int | float
    ):
        shown = f" (found {repr(got)[:40]})"
    more = len(exc.errors()) - 1 if count_others else 0
    extra = f"; and {more} more problem{'s' if more > 1 else ''}" if more else ""
    return f"{label}: key {loc!r}: {what(err)}{shown}{extra}"


def model_from_dict(
    model: type[FM],
    data: Mapping[str, Any],
    base_dir: Path | str | None,
    file: Path | None,
    noun: str,
    message: Callable[[str, ValidationError], str],
) -> FM:
    """Validate a file's parsed TOML into ``model`` (which has a ``file`` field).

    Parameters
    ----------
    model
        The file's model.
    data
        The file's content.
    base_dir
        Folder relative paths are resolved against (default: the file's folder, else the
        current directory).
    file
        The file it came from, for messages; stored in the model's ``file``.
    noun
        What stands for the file in messages when there is none (``"story"``).
    message
        The error line, from the label (the file or ``noun``) and the pydantic error.

    Raises
    ------
    InputError
        One line: the file, the key path and what is wrong.
    """
    base = Path(base_dir) if base_dir is not None else (file.parent if file else Path.cwd())
    label = str(file) if file is not None else noun
    try:
        return model.model_validate({**data, "file": file}, context={"base_dir": base})
    except ValidationError as exc:
        raise InputError(message(label, exc)) from None


def read_toml_file(path: Path | str, noun: str) -> tuple[Path, dict[str, Any]]:
    """Read a TOML file that must start with a ``schema`` key.

    Parameters
    ----------
    path
        The file.
    noun
        What kind of file it is, for messages (``"story"``: "no such story file").

    Returns
    -------
    tuple
        The file's absolute, normalised path and its content.

    Raises
    ------
    InputError
        The file cannot be read, is not TOML or has no ``schema``; one line naming the file.
    """
    p = norm_path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{p}: no such {noun} file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{p}: cannot read the {noun} file ({type(exc).__name__})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{p}: not valid TOML ({exc})") from None
    except RecursionError:
        raise InputError(f"{p}: not valid TOML (nested too deeply)") from None
    if "schema" not in data:
        raise InputError(f"{p}: key 'schema': required key missing (write schema = 1 first)")
    return p, data


def write_toml_file(path: Path | str, content: Callable[[Path], Mapping[str, Any]]) -> Path:
    """Write a TOML file atomically (temporary file, fsync, ``os.replace``).

    Parameters
    ----------
    path
        The file.
    content
        The content, given the folder the file is written in (paths are written relative
        to it).

    Returns
    -------
    Path
        The file's absolute, normalised path.

    Raises
    ------
    SessionFileError
        The file cannot be written (the previous file is unchanged).
    """
    import tomli_w

    from twin_app.atomic import atomic_write_text

    p = norm_path(path)
    atomic_write_text(p, tomli_w.dumps(content(p.parent)))
    return p


__all__ = [
    "FileModel",
    "RelativePath",
    "StrictModel",
    "check_lonlat",
    "error_text",
    "model_from_dict",
    "norm_path",
    "read_toml_file",
    "validation_message",
    "write_toml_file",
]
