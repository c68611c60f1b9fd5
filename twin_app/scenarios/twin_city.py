"""A twin folder's city geometry, read once per process for every scenario part.

The sun, air and patrol parts of a scenario all need the same twin's buildings or roads; each
reading the OpenStreetMap extract itself parsed it up to three times per run. IFC proposals are
left out: the studies work on the city's own footprint buildings and roads.
"""

from __future__ import annotations

import threading
from pathlib import Path

from twin_app.errors import InputError
from twin_app.model.city import CityModel, FeatureSet

_CACHE: dict[str, CityModel] = {}
_LOCK = threading.Lock()


def twin_folder(twin_dir: Path | str) -> Path:
    """The twin folder (given the folder or its ``manifest.toml``)."""
    folder = Path(twin_dir)
    return folder.parent if folder.name == "manifest.toml" else folder


def twin_paths(twin_dir: Path | str) -> list[Path]:
    """The manifest's geometry files, IFC proposals left out."""
    from twin_app.io.manifest import read_manifest

    return [p for p in read_manifest(twin_folder(twin_dir)).paths() if p.suffix.lower() != ".ifc"]


def files_key(paths: list[Path]) -> str:
    """A cache key that changes when any of the files does (path, size, modification time)."""
    return "|".join(f"{p.resolve()}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in paths)


def twin_city(twin_dir: Path | str) -> tuple[str, CityModel]:
    """The twin's city (read headless with :func:`twin_app.io.load.load_city`, cached in-process
    by :func:`files_key`) and that key, for the callers' own caches."""
    from twin_app.io.load import load_city

    paths = twin_paths(twin_dir)
    key = files_key(paths)
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is None:
        hit = load_city(paths).city
        with _LOCK:
            _CACHE[key] = hit
    return key, hit


def building_sets(city: CityModel) -> list[FeatureSet]:
    """The city's building sets that have geometry (footprint buildings with a mesh)."""
    return [s for s in city.sets if s.kind == "buildings" and s.mesh.n_triangles]


def twin_buildings(twin_dir: Path | str, purpose: str) -> tuple[str, Path, CityModel, FeatureSet]:
    """The twin's buildings: its largest building set (most features) with geometry.

    Parameters
    ----------
    twin_dir
        The twin folder (or its ``manifest.toml``).
    purpose
        What the buildings are for, for the message (``"an [air] run"``).

    Returns
    -------
    tuple
        The cache key of :func:`twin_city` (for the callers' own caches), the twin folder, the
        city and the building set.

    Raises
    ------
    InputError
        The twin has no buildings: ``"{folder}: the twin has no buildings for {purpose}"``.
    """
    folder = twin_folder(twin_dir)
    key, city = twin_city(folder)
    blds = building_sets(city)
    if not blds:
        raise InputError(f"{folder}: the twin has no buildings for {purpose}")
    return key, folder, city, max(blds, key=lambda s: s.n_features)
