"""Recording drained live samples to the long format (Parquet or CSV).

:class:`Recorder` collects :class:`~twin_app.feeds.sensorthings.Sample` batches (one
:meth:`LiveFeed.drain <twin_app.feeds.mqtt.LiveFeed.drain>` per tick) and writes them with
:func:`twin_app.feeds.longformat.write_long`; :func:`twin_app.feeds.publish.record` is the
headless ``twin feed record`` around it.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin_app.feeds.sensorthings import Sample

if TYPE_CHECKING:
    import pandas as pd


class Recorder:
    """Collect drained samples and write them in the long format (:mod:`~.longformat`).

    Sensor samples make a sensor table (``sensor_id``, ``t``, ``value`` [, ``quality``]);
    mover fixes make a mover table (``sensor_id``, ``t``, ``value``, [``quality``,] ``lon``,
    ``lat`` [, ``z``]). When a recording holds both, the movers go to a second file beside the
    first, ``<name>.movers.<ext>`` (see :func:`movers_path`). Rows keep arrival order; ``t`` is
    ``timestamp[ns, tz=UTC]`` in Parquet.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._samples: list[Sample] = []

    def add(self, samples: Iterable[Sample]) -> int:
        """Append samples (e.g. the result of :meth:`LiveFeed.drain`); returns how many."""
        batch = list(samples)
        with self._lock:
            self._samples.extend(batch)
        return len(batch)

    def __len__(self) -> int:
        return len(self._samples)

    def clear(self) -> None:
        """Forget everything recorded so far."""
        with self._lock:
            self._samples = []

    def to_frames(self) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        """(sensor table, mover table) as pandas frames; None where there are no samples."""
        with self._lock:
            samples = list(self._samples)
        sensors = [s for s in samples if not s.is_mover]
        movers = [s for s in samples if s.is_mover]
        return (
            samples_to_frame(sensors) if sensors else None,
            samples_to_frame(movers) if movers else None,
        )

    def write(self, path: Path | str) -> list[Path]:
        """Write the samples atomically (temp file + ``os.replace``) as Parquet or CSV.

        Returns
        -------
        list of Path
            ``[path]``, or ``[path, movers_path(path)]`` when there are sensors and movers. An
            empty recording writes an empty sensor table to ``path``.

        Raises
        ------
        FeedError
            If a file cannot be written; a previous file at that path is then unchanged.
        """
        from twin_app.feeds.longformat import write_long

        p = Path(path)
        sensors, movers = self.to_frames()
        if sensors is None and movers is None:
            sensors = samples_to_frame([])
        written: list[Path] = []
        if sensors is not None:
            write_long(p, sensors)
            written.append(p)
        if movers is not None:
            target = movers_path(p) if sensors is not None else p
            write_long(target, movers)
            written.append(target)
        return written


def movers_path(path: Path | str) -> Path:
    """Where :class:`Recorder` puts the movers of a mixed recording: ``rec.movers.parquet``."""
    p = Path(path)
    name = p.name
    for ext in (".csv.gz", ".parquet", ".csv", ".pq"):
        if name.lower().endswith(ext):
            return p.with_name(name[: -len(ext)] + ".movers" + name[-len(ext) :])
    return p.with_name(name + ".movers")


def samples_to_frame(samples: Sequence[Sample]) -> pd.DataFrame:
    """Samples -> one long-format frame (a mover table if the first sample is a mover fix).

    ``quality`` and ``z`` columns are added only when some sample has them.
    """
    import numpy as np
    import pandas as pd

    t = np.fromiter((s.t_ns for s in samples), np.int64, len(samples))
    cols: dict[str, Any] = {
        "sensor_id": pd.Series([s.sensor_id for s in samples], dtype=object),
        "t": pd.Series(t.view("datetime64[ns]")).dt.tz_localize("UTC"),
        "value": np.fromiter((s.value for s in samples), np.float64, len(samples)),
    }
    nan = math.nan
    if any(s.quality is not None for s in samples):
        cols["quality"] = np.array([nan if s.quality is None else s.quality for s in samples])
    if samples and samples[0].is_mover:
        cols["lon"] = np.array([s.lon for s in samples], np.float64)
        cols["lat"] = np.array([s.lat for s in samples], np.float64)
        if any(s.z is not None for s in samples):
            cols["z"] = np.array([nan if s.z is None else s.z for s in samples], np.float64)
    return pd.DataFrame(cols)
