"""Sensor and station positions: a CSV with one row per sensor (id, ``lon``, ``lat``, extras).

Traffic detectors are keyed by ``sensor_id`` (read as text: ids such as ``"0717"`` keep their
zeros), air-quality stations by ``station``. Extra columns (``free_flow_mph`` ...) come along.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from twin_app.errors import InputError


def read_sensor_positions(path: Path | str, id_column: str = "sensor_id") -> pd.DataFrame:
    """Read a positions table; `id_column`, ``lon`` and ``lat`` must be there.

    Parameters
    ----------
    path
        A CSV file.
    id_column
        The column naming each sensor (kept as text).

    Returns
    -------
    pandas.DataFrame
        The table as read, ids as ``str``, ``lon``/``lat`` as float64 (NaN where unreadable).

    Raises
    ------
    InputError
        The file is missing or unreadable, or a required column is absent.
    """
    p = Path(path)
    try:
        table = pd.read_csv(p, dtype={id_column: str})
    except FileNotFoundError as exc:
        raise InputError(f"{p}: no such sensor positions file") from exc
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{p}: cannot read sensor positions ({exc})") from exc
    missing = [c for c in (id_column, "lon", "lat") if c not in table.columns]
    if missing:
        raise InputError(
            f"{p}: sensor positions need column(s) {', '.join(missing)} "
            f"(found {', '.join(map(str, table.columns))})"
        )
    table[id_column] = table[id_column].astype(str)
    for c in ("lon", "lat"):
        table[c] = pd.to_numeric(table[c], errors="coerce").astype("float64")
    return table
