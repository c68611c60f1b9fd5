"""IFC files (IFC2X3, IFC4, IFC4X3) -> one placed triangle mesh of their products.

The adapter to ifcopenshell (with :mod:`twin_app.io.ifc_worker`, the only modules that import
it, like wntr behind the water engine). Every product with a 3D body (openings excluded: they
are cut out of their walls) becomes triangles of ONE mesh with per-triangle element, class,
storey and colour arrays; attributes and property sets go to the table (see
:mod:`twin_app.model.bim`).

Meshing runs in worker processes kept warm for the app's lifetime (a geometry kernel crash
kills a worker, never the app: one warning, then ``opencascade`` in a fresh worker). The fast
``cgal-simple`` library meshes the whole file while this process parses it and reads the
attributes; products it returns without triangles, or not at all, are re-meshed with
``manifold``, and what is still missing with ``opencascade``. A clipped body's mesh must keep
out of what its half-spaces removed (:func:`clip_violated`; manifold leaves some clippings
out), else opencascade meshes it again. Products a fast library cannot be trusted with
(:func:`needs_exact_kernel`: mapped items with openings crash manifold) and clipped solids
without openings (cheap for opencascade) go to ``opencascade`` in a second worker from the
start. What no library meshes is reported in
:attr:`IfcInfo.missing`. Meshes are cached on disk by file hash and settings
(:func:`ifc_cache_dir`).

Placement (:class:`~twin_app.model.bim.Georef`): an ``IfcMapConversion`` (IFC4; the
``ePSet_MapConversion`` of IFC2X3) puts model x, y at

    E = E0 + s (x cos(t) - y sin(t)),   N = N0 + s (x sin(t) + y cos(t)),   H = H0 + z

in its projected CRS, t = atan2(XAxisOrdinate, XAxisAbscissa), s = Scale per metre. Else the
IfcSite reference point (RefLatitude, RefLongitude, RefElevation) with the rotation from the
context's TrueNorth (t = -true north angle, true north counter-clockwise from model +y),
x, y then being metres east/north in a transverse Mercator centred on the site (grid north =
true north there), handed on as longitude/latitude.
The user's ``--at LON,LAT --rotate DEG`` (``ReadOptions.at_lonlat``, ``rotate_deg``) overrides
both; with none of them the model lands at the twin's origin, unrotated, with a warning.
Reference: buildingSMART IFC4 ADD2 TC1, IfcMapConversion and IfcGeometricRepresentationContext.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import hashlib
import json
import logging
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin_app.errors import CancelledError, InputError
from twin_app.io.source import IfcData, LoadReport, ReadOptions, SourceData
from twin_app.model.bim import IFC_CLASSES, Georef, IfcInfo, IfcStorey

log = logging.getLogger(__name__)

Cancelled = Callable[[], bool]
Progress = Callable[[float, str], None]

#: Representation identifiers of a 3D body (what a product "should" produce triangles from).
BODY_IDENTIFIERS = ("Body", "Facetation")
#: Fallback geometry library (slow, robust).
FALLBACK_LIBRARY = "opencascade"

#: Colour of an element whose file gives none, by class (RGB 0..255).
CLASS_RGB: dict[str, tuple[int, int, int]] = {
    "IfcWall": (225, 220, 205),
    "IfcWallStandardCase": (225, 220, 205),
    "IfcCurtainWall": (150, 190, 215),
    "IfcSlab": (190, 190, 190),
    "IfcRoof": (170, 80, 60),
    "IfcWindow": (120, 170, 220),
    "IfcDoor": (150, 105, 60),
    "IfcSpace": (120, 200, 120),
    "IfcColumn": (200, 200, 200),
    "IfcBeam": (180, 180, 170),
    "IfcStair": (205, 185, 150),
    "IfcStairFlight": (205, 185, 150),
    "IfcRailing": (90, 90, 90),
    "IfcCovering": (235, 230, 215),
    "IfcPlate": (140, 180, 210),
    "IfcMember": (160, 130, 90),
    "IfcFooting": (150, 150, 150),
    "IfcSite": (110, 150, 80),
}
DEFAULT_RGB = (200, 200, 200)


def _open(path: Path, report: LoadReport) -> Any:
    """``ifcopenshell.open`` with its failures as one-line :class:`InputError`."""
    import ifcopenshell

    with path.open("rb") as fh:
        head = fh.read(4096)
    if b"ISO-10303-21" not in head:
        raise InputError(f"{path}: not an IFC (STEP, ISO-10303-21) file")
    try:
        f = ifcopenshell.open(str(path))
    except Exception as exc:  # ifcopenshell raises plain RuntimeError/IOError with C++ texts
        text = " ".join(str(exc).split())[:200]
        if "schema" in text.lower():
            raise InputError(
                f"{path}: IFC schema not supported by ifcopenshell ({text}); IFC2X3, IFC4 and "
                "IFC4X3 are"
            ) from exc
        raise InputError(
            f"{path}: not a readable IFC file ({type(exc).__name__}: {text}); it may be "
            "truncated or corrupt"
        ) from exc
    raw = path.read_bytes()
    # "#12=" at a line start: every entity instance; what ifcopenshell parsed of them
    declared = raw.count(b"\n#") + raw.startswith(b"#")
    parsed = len(f.entity_names())
    truncated = b"END-ISO-10303-21" not in raw[-256:]
    if not f.by_type("IfcProject"):
        why = "truncated" if truncated else "invalid STEP syntax"
        raise InputError(
            f"{path}: no IfcProject could be read ({why}; {parsed} of {declared} entities "
            "parsed); the file is damaged or not an IFC model"
        )
    if truncated:
        report.warn(
            f"the file is truncated (no END-ISO-10303-21 line); loading the {parsed} entities read"
        )
    elif parsed < declared:
        report.warn(
            f"invalid STEP syntax: {declared - parsed} of {declared} entities could not be "
            "parsed; loading the rest"
        )
    return f


def expected_products(f: Any) -> dict[int, Any]:
    """Products that should give triangles: a 3D body representation, not an opening.

    Returns ``{STEP id: entity}``.
    """
    out: dict[int, Any] = {}
    for p in f.by_type("IfcProduct"):
        rep = p.Representation
        if rep is None or p.is_a("IfcOpeningElement"):
            continue
        for r in rep.Representations:
            if r.RepresentationIdentifier in BODY_IDENTIFIERS:
                out[p.id()] = p
                break
    return out


def _unit_scale(f: Any) -> float:
    import ifcopenshell.util.unit

    return float(ifcopenshell.util.unit.calculate_unit_scale(f))


def storeys_of(f: Any) -> list[tuple[int, IfcStorey]]:
    """Building storeys lowest first, as (STEP id, :class:`IfcStorey`)."""
    import ifcopenshell.util.placement

    scale = _unit_scale(f)
    rows: list[tuple[float, int, str, str]] = []
    for s in f.by_type("IfcBuildingStorey"):
        if s.Elevation is not None:
            elev = float(s.Elevation) * scale
        elif s.ObjectPlacement is not None:
            elev = float(ifcopenshell.util.placement.get_local_placement(s.ObjectPlacement)[2, 3])
            elev *= scale
        else:
            elev = 0.0
        rows.append((elev, s.id(), str(s.Name or s.LongName or f"#{s.id()}"), str(s.GlobalId)))
    rows.sort(key=lambda r: r[0])
    return [
        (sid, IfcStorey(i, name, round(elev, 4), gid))
        for i, (elev, sid, name, gid) in enumerate(rows)
    ]


def _parents(f: Any) -> dict[int, int]:
    """STEP id of each object's container or whole (spatial containment and aggregation)."""
    up: dict[int, int] = {}
    for rel in f.by_type("IfcRelContainedInSpatialStructure"):
        for e in rel.RelatedElements:
            up[e.id()] = rel.RelatingStructure.id()
    for rel in f.by_type("IfcRelAggregates"):
        for e in rel.RelatedObjects:
            up.setdefault(e.id(), rel.RelatingObject.id())
    if f.schema != "IFC2X3":
        for rel in f.by_type("IfcRelNests"):
            for e in rel.RelatedObjects:
                up.setdefault(e.id(), rel.RelatingObject.id())
    return up


def _storey_rows(ids: list[int], up: dict[int, int], storey_ids: dict[int, int]) -> list[int]:
    """Storey index of each element: the first storey up its container/whole chain, else -1."""
    out = []
    for i in ids:
        cur: int | None = i
        found = -1
        for _ in range(32):  # a chain deeper than this is a cycle in a broken file
            if cur is None:
                break
            if cur in storey_ids:
                found = storey_ids[cur]
                break
            cur = up.get(cur)
        out.append(found)
    return out


def _material_name(el: Any) -> str:
    import ifcopenshell.util.element

    try:
        m = ifcopenshell.util.element.get_material(el, should_skip_usage=True)
    except Exception:  # a broken material relation names nothing
        return ""
    if m is None:
        return ""
    names: list[str] = []
    if m.is_a("IfcMaterial"):
        names = [m.Name or ""]
    elif m.is_a("IfcMaterialLayerSet"):
        names = [ly.Material.Name for ly in m.MaterialLayers if ly.Material is not None]
    elif m.is_a("IfcMaterialList"):
        names = [x.Name for x in m.Materials]
    elif m.is_a("IfcMaterialConstituentSet"):
        names = [c.Material.Name for c in (m.MaterialConstituents or ()) if c.Material]
    elif m.is_a("IfcMaterialProfileSet"):
        names = [p.Material.Name for p in (m.MaterialProfiles or ()) if p.Material]
    return ", ".join(dict.fromkeys(str(n) for n in names if n))


def _attributes(el: Any, memo: dict[int, Any] | None = None) -> tuple[str, str, str, str, str, str]:
    """(GlobalId, name, class, material, property sets as JSON, predefined type)."""
    return (
        str(el.GlobalId),
        str(el.Name or ""),
        str(el.is_a()),
        _material_name(el),
        _psets_json(el, {} if memo is None else memo),
        _predefined_type(el),
    )


def _psets_json(el: Any, memo: dict[int, Any]) -> str:
    """``ifcopenshell.util.element.get_psets(el)`` (type's sets, then the occurrence's over
    them) as JSON, each property set definition read once per file (`memo`): types and
    shared sets are read for hundreds of elements otherwise."""
    try:
        psets = _psets(el, memo)
    except Exception:  # a broken property set relation: no property sets rather than no element
        return "{}"
    return json.dumps(psets, default=str, ensure_ascii=False)


def _psets(el: Any, memo: dict[int, Any]) -> dict[str, dict[str, Any]]:
    import ifcopenshell.util.element as ue

    out: dict[str, dict[str, Any]] = {}
    el_type = ue.get_type(el)
    if el_type is not None:
        key = el_type.id()
        if key not in memo:
            memo[key] = ue.get_psets(el_type, should_inherit=False)
        for name, props in memo[key].items():
            out[name] = {k: v for k, v in props.items() if k != "id"}
    for rel in getattr(el, "IsDefinedBy", None) or ():
        if not rel.is_a("IfcRelDefinesByProperties"):
            continue
        definition = rel.RelatingPropertyDefinition
        defs = (
            definition.wrappedValue
            if definition.is_a("IfcPropertySetDefinitionSet")
            else (definition,)
        )
        for d in defs:
            if d.id() not in memo:
                memo[d.id()] = ue.get_property_definition(d)
            props = memo[d.id()]
            out.setdefault(d.Name, {}).update({k: v for k, v in props.items() if k != "id"})
    return out


def _predefined_type(el: Any) -> str:
    try:
        import ifcopenshell.util.element

        value = ifcopenshell.util.element.get_predefined_type(el)
    except Exception:  # no such attribute in this schema
        return ""
    return "" if value is None else str(value)


# -- georeference -----------------------------------------------------------------------------


def file_georef(f: Any) -> tuple[Georef, str | None]:
    """The file's own placement of its model origin, and why there is none when there is none."""
    import ifcopenshell.util.geolocation as geo

    unit = _unit_scale(f)
    try:
        params = geo.get_helmert_transformation_parameters(f)
        crs_info = geo.get_crs(f) if params is not None else None
    except Exception:  # a half-written map conversion: try the site
        log.debug("map conversion unreadable", exc_info=True)
        params, crs_info = None, None
    crs_name = None
    if crs_info:
        crs_name = crs_info.get("Name")
    if params is not None and crs_name:
        theta = math.degrees(math.atan2(params.xao, params.xaa))
        return (
            Georef(
                "map_conversion",
                str(crs_name),
                float(params.e),
                float(params.n),
                float(params.h),
                theta,
                float(params.scale) / unit,
            ),
            None,
        )
    sites = f.by_type("IfcSite")
    site = next((s for s in sites if s.RefLatitude and s.RefLongitude), None)
    if site is not None:
        lat = geo.dms2dd(*site.RefLatitude)
        lon = geo.dms2dd(*site.RefLongitude)
        if abs(lat) <= 90 and abs(lon) <= 180 and (lat, lon) != (0.0, 0.0):
            z = float(site.RefElevation or 0.0) * unit
            north = float(geo.get_true_north(f))
            return Georef("site", "EPSG:4326", lon, lat, z, -north, 1.0), None
    return Georef(), "no usable georeference (no map conversion, no site latitude/longitude)"


def local_crs_wkt(lon: float, lat: float) -> str:
    """A transverse Mercator CRS centred on (lon, lat): metres east/north of the point."""
    from pyproj import CRS

    return str(
        CRS.from_proj4(
            f"+proj=tmerc +lat_0={lat:.10f} +lon_0={lon:.10f} +k=1 +x_0=0 +y_0=0 "
            "+ellps=WGS84 +units=m +no_defs"
        ).to_wkt()
    )


def place_points(verts: np.ndarray[Any, Any], georef: Georef) -> tuple[np.ndarray[Any, Any], Any]:
    """Model world metres -> (points in the source CRS, the CRS); see the module docstring.

    z is relative to the georeference height (``georef.z`` is kept as ``base_z``).
    """
    from pyproj import CRS

    t = math.radians(georef.rotation_deg)
    c, s = math.cos(t), math.sin(t)
    out = np.empty_like(verts)
    k = georef.scale
    out[:, 0] = k * (c * verts[:, 0] - s * verts[:, 1])
    out[:, 1] = k * (s * verts[:, 0] + c * verts[:, 1])
    out[:, 2] = verts[:, 2]
    if georef.method == "map_conversion":
        assert georef.crs is not None
        crs = CRS.from_user_input(georef.crs)
        out[:, 0] += georef.x
        out[:, 1] += georef.y
        return out, crs
    if georef.method in ("site", "user"):
        from pyproj import Transformer

        # metres east/north of the reference point -> lon/lat, so the twin picks its usual
        # UTM frame; float64 degrees keep well under a millimetre
        tr = Transformer.from_crs(
            CRS.from_wkt(local_crs_wkt(georef.x, georef.y)), "EPSG:4326", always_xy=True
        )
        lon, lat = tr.transform(out[:, 0], out[:, 1])
        out[:, 0] = lon
        out[:, 1] = lat
        return out, CRS.from_epsg(4326)
    return verts.copy(), CRS.from_wkt(local_crs_wkt(0.0, 0.0))


# -- reading ----------------------------------------------------------------------------------


class WorkerCrashed(RuntimeError):
    """The meshing worker process died (a geometry kernel crashed)."""


class _Process:
    """A worker subprocess seen through the few :class:`multiprocessing.Process` calls used."""

    def __init__(self, popen: Any) -> None:
        self._popen = popen

    @property
    def pid(self) -> int:
        """Its process id."""
        return int(self._popen.pid)

    @property
    def exitcode(self) -> int | None:
        """Exit code (negative: killed by that signal), None while running."""
        code = self._popen.poll()
        return None if code is None else int(code)

    def is_alive(self) -> bool:
        """True while it runs."""
        return self._popen.poll() is None

    def kill(self) -> None:
        """Kill it."""
        self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        """Wait for it to end, at most `timeout` seconds."""
        import subprocess

        with contextlib.suppress(subprocess.TimeoutExpired):
            self._popen.wait(timeout)
        if self._popen.stdout is not None and self._popen.poll() is not None:
            self._popen.stdout.close()


class MeshWorker:
    """One warm meshing process (spawned once, reused for every file, restarted after a crash).

    Jobs go through a pipe; the app thread polls for the answer so it can notice a dead
    worker (a segfault in a geometry kernel) or a cancel, and kill the process.
    """

    def __init__(self) -> None:
        self._proc: Any = None
        self._conn: Any = None
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """Process id of the running worker, or None."""
        return int(self._proc.pid) if self._proc is not None and self._proc.is_alive() else None

    def _start(self) -> None:
        # A plain ``python -m twin_app.io.ifc_worker`` process, not multiprocessing's spawn:
        # spawn re-runs the parent's main script in the child, which fails in any script
        # without an ``if __name__ == "__main__"`` guard (and from stdin), and the file then
        # loaded nothing. The worker listens on a loopback port it prints on its first line;
        # a random key authenticates the connection.
        import secrets
        import subprocess
        import sys
        from multiprocessing.connection import Client

        import twin_app

        key = secrets.token_bytes(32)
        root = str(Path(twin_app.__file__).resolve().parents[1])
        env = dict(os.environ, TWIN_IFC_WORKER_KEY=key.hex())
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        popen = subprocess.Popen(
            [sys.executable, "-m", "twin_app.io.ifc_worker"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            env=env,
        )
        proc = _Process(popen)
        assert popen.stdout is not None
        line = popen.stdout.readline()  # end of file when the worker dies before listening
        try:
            conn = Client(("127.0.0.1", int(line)), authkey=key)
        except (ValueError, OSError) as exc:
            proc.kill()
            proc.join(timeout=5)
            raise WorkerCrashed(
                f"meshing process did not start (exit code {proc.exitcode})"
            ) from exc
        self._proc, self._conn = proc, conn

    def stop(self) -> None:
        """Kill the worker (the next job starts a fresh one)."""
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            conn.close()
        if proc is not None and proc.is_alive():
            proc.kill()
        if proc is not None:
            proc.join(timeout=5)

    @property
    def busy(self) -> bool:
        """True while a job is in flight (submitted, not yet collected)."""
        return self._lock.locked()

    def ensure_started(self) -> None:
        """Start the process if none is alive (it warms up while the caller works)."""
        if self._proc is None or not self._proc.is_alive():
            self.stop()
            self._start()

    def submit(self, kwargs: dict[str, Any]) -> None:
        """Send a :func:`twin_app.io.ifc_worker.mesh_file` job; collect it with :meth:`result`.

        The worker is held (its lock taken) until :meth:`result` returns or raises.
        """
        self._lock.acquire()
        try:
            self.ensure_started()
            self._conn.send(("mesh_file", kwargs))
        except (OSError, ValueError) as exc:
            self.stop()
            self._lock.release()
            raise WorkerCrashed(f"meshing process unreachable ({exc})") from exc
        except BaseException:
            self._lock.release()
            raise

    def result(self, cancelled: Cancelled | None = None) -> dict[str, Any]:
        """The answer to the job :meth:`submit` sent.

        Raises
        ------
        WorkerCrashed
            The process died during the job.
        CancelledError
            `cancelled` returned True (the worker is killed).
        """
        try:
            conn = self._conn
            while not conn.poll(0.02):
                if cancelled is not None and cancelled():
                    raise CancelledError("IFC meshing cancelled")
                if not self._proc.is_alive():
                    break
            reply = conn.recv()
        except (EOFError, OSError) as exc:
            if self._proc is not None:
                self._proc.join(timeout=2)
            code = self._proc.exitcode if self._proc is not None else None
            self.stop()
            raise WorkerCrashed(f"meshing process died (exit code {code})") from exc
        except BaseException:
            self.stop()  # the answer to this job would be read as the next job's
            raise
        finally:
            self._lock.release()
        if reply[0] == "error":
            raise RuntimeError(f"{reply[1]}: {reply[2]}")
        return reply[1]  # type: ignore[no-any-return]

    def run(
        self,
        kwargs: dict[str, Any],
        cancelled: Cancelled | None = None,
        meanwhile: Callable[[], Any] | None = None,
    ) -> tuple[dict[str, Any], Any]:
        """Run :func:`twin_app.io.ifc_worker.mesh_file` (`kwargs`) in the worker.

        `meanwhile` runs here while the worker meshes (the two use both cores); its result
        comes back second. Raises as :meth:`result`.
        """
        self.submit(kwargs)
        side = None
        if meanwhile is not None:
            try:
                side = meanwhile()
            except BaseException:
                self.result_discard()
                raise
        return self.result(cancelled), side

    def result_discard(self) -> None:
        """Drop the job in flight (kill the worker) and free it."""
        try:
            self.stop()
        finally:
            self._lock.release()


_WORKER = MeshWorker()
#: A second process for the products the fast libraries get wrong (clipped solids, mapped
#: items with openings): opencascade meshes them while the first does the fast pass.
_SLOW_WORKER = MeshWorker()
atexit.register(_WORKER.stop)
atexit.register(_SLOW_WORKER.stop)


def mesh_worker() -> MeshWorker:
    """The app's fast meshing worker."""
    return _WORKER


def _once(fn: Callable[[], Any]) -> Callable[[], Any]:
    """`fn` that runs once and then answers its first result."""
    memo: list[Any] = []

    def call() -> Any:
        if not memo:
            memo.append(fn())
        return memo[0]

    return call


def _mesh(
    path: Path,
    library: str,
    include: list[int] | None,
    cancelled: Cancelled | None,
    report: LoadReport,
    meanwhile: Callable[[], Any] | None = None,
) -> tuple[dict[str, Any], Any]:
    """Mesh in the worker; if it dies, say so and mesh with opencascade in a fresh one."""
    kwargs: dict[str, Any] = {"path": str(path), "library": library, "include": include}
    if meanwhile is not None:
        meanwhile = _once(meanwhile)
    try:
        return _WORKER.run(kwargs, cancelled, meanwhile)
    except WorkerCrashed as exc:
        if library == FALLBACK_LIBRARY:
            raise InputError(
                f"{path}: the geometry kernel crashed on this file ({exc}) even with "
                f"{FALLBACK_LIBRARY}"
            ) from exc
        report.warn(
            f"the {library} geometry library crashed ({exc}); meshed with "
            f"{FALLBACK_LIBRARY} instead (slower)"
        )
        # `meanwhile` ran to its end (or raised) before the crash was noticed
        return _WORKER.run({**kwargs, "library": FALLBACK_LIBRARY}, cancelled, meanwhile)


def _has_clipping(el: Any) -> bool:
    reps = el.Representation.Representations if el.Representation else ()
    return any(
        r.RepresentationType == "Clipping" and r.RepresentationIdentifier in BODY_IDENTIFIERS
        for r in reps
    )


def needs_exact_kernel(el: Any) -> bool:
    """True for a product the fast libraries cannot be trusted with: a mapped item cut by
    openings (manifold segfaults on duplex.ifc's cabinets), or a clipped body whose clipping
    :func:`clip_planes` cannot check."""
    reps = el.Representation.Representations if el.Representation else ()
    types = {r.RepresentationType for r in reps if r.RepresentationIdentifier in BODY_IDENTIFIERS}
    if "Clipping" in types and clip_planes(el) is None:
        return True
    return "MappedRepresentation" in types and bool(getattr(el, "HasOpenings", None))


#: A clipping half-space in world metres: a point on its plane, the unit normal pointing to
#: the side the clipping keeps, and for a polygonal bounded half-space (world -> boundary
#: frame matrix, (k, 2) boundary polygon in that frame's x, y), else None.
ClipPlane = tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], Any]


def clip_planes(el: Any) -> list[ClipPlane] | None:
    """The half-spaces a ``Clipping`` body is cut by, in world metres; [] for no clipping,
    None when the body is clipped in a way this does not follow (not DIFFERENCE with plane
    half-spaces, a bounding curve that is not a polyline).

    IFC4 IfcHalfSpaceSolid: AgreementFlag TRUE means the plane's normal points away from the
    half-space's material, so a DIFFERENCE keeps the normal's side; an
    IfcPolygonalBoundedHalfSpace only cuts inside the prism of its boundary, its base plane
    and boundary given in its own Position.
    """
    import ifcopenshell.util.placement as pl

    if el.ObjectPlacement is None or el.Representation is None:
        return None
    unit = _unit_scale(el.file)

    def axes(placement: Any) -> np.ndarray[Any, Any]:
        a = np.array(pl.get_axis2placement(placement), np.float64)
        a[:3, 3] *= unit
        return a

    obj = np.array(pl.get_local_placement(el.ObjectPlacement), np.float64)
    obj[:3, 3] *= unit
    out: list[ClipPlane] = []
    for rep in el.Representation.Representations:
        if rep.RepresentationIdentifier not in BODY_IDENTIFIERS:
            continue
        if rep.RepresentationType != "Clipping":
            continue
        for item in rep.Items:
            x = item
            while x.is_a("IfcBooleanClippingResult"):
                hs = x.SecondOperand
                if (
                    x.Operator != "DIFFERENCE"
                    or not hs.is_a("IfcHalfSpaceSolid")
                    or hs.is_a("IfcBoxedHalfSpace")
                    or not hs.BaseSurface.is_a("IfcPlane")
                ):
                    return None
                frame = obj
                boundary = None
                if hs.is_a("IfcPolygonalBoundedHalfSpace"):
                    frame = obj @ axes(hs.Position)
                    curve = hs.PolygonalBoundary
                    if not curve.is_a("IfcPolyline"):
                        return None
                    poly = np.array([q.Coordinates[:2] for q in curve.Points], np.float64) * unit
                    boundary = (np.linalg.inv(frame), poly)
                w = frame @ axes(hs.BaseSurface.Position)
                n = w[:3, 2] / np.linalg.norm(w[:3, 2])
                out.append((w[:3, 3].copy(), n if hs.AgreementFlag else -n, boundary))
                x = x.FirstOperand
    return out


def clip_violated(verts: np.ndarray[Any, Any], planes: list[ClipPlane], tol: float = 2e-3) -> bool:
    """True when a vertex lies more than `tol` metres in a region the clipping removed."""
    from matplotlib.path import Path as PolygonPath

    for p, n, boundary in planes:
        bad = (verts - p) @ n < -tol
        if not bad.any():
            continue
        if boundary is None:
            return True
        inv, poly = boundary
        local = verts[bad] @ inv[:3, :3].T + inv[:3, 3]
        if PolygonPath(poly).contains_points(local[:, :2], radius=-tol).any():
            return True
    return False


def _clip_violators(m: dict[str, Any], clips: dict[int, list[ClipPlane]]) -> np.ndarray[Any, Any]:
    """Rows of `m`'s clipped elements whose mesh reaches into what their clipping removed
    (manifold leaves some half-spaces out: AC20-FZK-Haus's eaves walls came out 3 m tall)."""
    rows = _rows_of(m, set(clips))
    bad = []
    for row in rows.tolist():
        tris = m["tris"][m["tri_elem"] == row]
        verts = m["verts"][np.unique(tris)]
        if clip_violated(verts, clips[int(m["elem_id"][row])]):
            bad.append(row)
    return np.array(bad, np.int64)


def _suspicious(m: dict[str, Any]) -> np.ndarray[Any, Any]:
    """Rows of elements whose fast mesh looks wrong: a non-finite vertex, or a box flat in
    two axes (a solid collapsed to a line or a point)."""
    k = m["elem_id"].shape[0]
    if k == 0:
        return np.zeros(0, np.int64)
    v = m["verts"][m["tris"][:, 0]]
    te = m["tri_elem"]
    lo = np.full((k, 3), np.inf)
    hi = np.full((k, 3), -np.inf)
    np.minimum.at(lo, te, v)
    np.maximum.at(hi, te, v)
    bad_vertex = np.zeros(k, bool)
    np.logical_or.at(bad_vertex, te, ~np.isfinite(v).all(axis=1))
    flat = ((hi - lo) < 1e-6).sum(axis=1) >= 2
    return np.flatnonzero(bad_vertex | flat)


def _drop_elements(m: dict[str, Any], rows: np.ndarray[Any, Any]) -> dict[str, Any]:
    """`m` without the elements in `rows` (their triangles too; vertices are kept)."""
    if rows.size == 0:
        return m
    keep = np.ones(m["elem_id"].shape[0], bool)
    keep[rows] = False
    new_row = np.cumsum(keep) - 1
    tkeep = keep[m["tri_elem"]]
    return {
        **m,
        "elem_id": m["elem_id"][keep],
        "tris": m["tris"][tkeep],
        "tri_elem": new_row[m["tri_elem"][tkeep]].astype(np.int32),
        "tri_mat": m["tri_mat"][tkeep],
    }


#: Libraries that re-mesh what the fast pass missed, in order: manifold's exact booleans are
#: fast on the walls with openings cgal-simple gives up on (0.1 s for AC20-FZK-Haus's against
#: 1.4 s in opencascade); opencascade takes whatever is left (and what
#: :func:`needs_exact_kernel` names, from the start).
FALLBACK_CHAIN = ("manifold", FALLBACK_LIBRARY)


def mesh_products(
    path: Path,
    discover: Callable[[], dict[int, Any]],
    describe: Callable[[dict[int, Any]], Any],
    options: ReadOptions,
    report: LoadReport,
    cancelled: Cancelled | None = None,
) -> tuple[dict[str, Any], list[str], int, Any]:
    """Mesh with the fast library; what it misses or gets wrong with the fallbacks.

    The fast pass runs in one worker while `discover` and `describe` run here (the file is
    parsed twice, once on each core): `discover` returns the products that should have
    triangles (see :func:`expected_products`), `describe` anything the caller wants of them. The products
    :func:`needs_exact_kernel` names then go to opencascade in the second worker while the
    first re-meshes the rest of what the fast pass missed with manifold; opencascade takes
    whatever is still missing.

    Returns the merged arrays (see :func:`twin_app.io.ifc_worker.mesh_file`), the lines of
    products no library meshed, how many products the fallbacks meshed, and what `describe`
    returned.
    """
    library = options.ifc_library
    exact: list[int] = []
    sent: list[bool] = []
    clips: dict[int, list[ClipPlane]] = {}

    def prepare_and_send() -> tuple[dict[int, Any], Any]:
        # once the products are known, the exact kernel starts on those that need it, in the
        # second worker, while the first still runs the fast pass and `describe` runs here
        expected = discover()
        if library != FALLBACK_LIBRARY:
            exact.extend(sorted(i for i in expected if needs_exact_kernel(expected[i])))
            for i, e in expected.items():
                if i not in exact and _has_clipping(e):
                    if not getattr(e, "HasOpenings", None):
                        # a clipped solid without openings costs opencascade little (one
                        # boolean), whereas manifold often leaves its clipping out
                        exact.append(i)
                        continue
                    planes = clip_planes(e)
                    if planes:
                        clips[i] = planes
        if exact:
            try:
                _SLOW_WORKER.submit(
                    {"path": str(path), "library": FALLBACK_LIBRARY, "include": exact}
                )
                sent.append(True)
            except WorkerCrashed:
                exact.clear()
        return expected, describe(expected)

    _SLOW_WORKER.ensure_started()
    try:
        fast, prepared = _mesh(path, library, None, cancelled, report, prepare_and_send)
    except BaseException:
        if _SLOW_WORKER.busy:
            _SLOW_WORKER.result_discard()
        raise
    expected, side = prepared
    used = str(fast["library"])
    tried = [used]
    slow_sent = bool(sent)
    exact_set = set(exact)
    try:
        return _fallbacks(
            path, expected, side, fast, exact_set, slow_sent, used, tried, report, cancelled, clips
        )
    finally:
        if _SLOW_WORKER.busy:  # an error or a cancel left its job uncollected
            _SLOW_WORKER.result_discard()


def _fallbacks(
    path: Path,
    expected: dict[int, Any],
    side: Any,
    fast: dict[str, Any],
    exact_set: set[int],
    slow_sent: bool,
    used: str,
    tried: list[str],
    report: LoadReport,
    cancelled: Cancelled | None,
    clips: dict[int, list[ClipPlane]],
) -> tuple[dict[str, Any], list[str], int, Any]:
    """The fallback passes of :func:`mesh_products` after the fast one."""
    if used == FALLBACK_LIBRARY:
        # the fast pass crashed and opencascade meshed everything: the exact job is moot
        if slow_sent:
            _SLOW_WORKER.result_discard()
        slow_sent = False
        exact_set = set()
    exact = sorted(exact_set)
    parts: list[dict[str, Any]] = []
    if used == FALLBACK_LIBRARY:
        clips = {}
    drop = np.union1d(_suspicious(fast), _rows_of(fast, exact_set))
    fast = _drop_elements(fast, np.union1d(drop, _clip_violators(fast, clips)))
    parts.append(fast)
    got = set(fast["elem_id"].tolist())
    redo = sorted(i for i in expected if i not in got and i not in exact_set)
    n_fallback = 0
    for lib in FALLBACK_CHAIN[:-1]:
        if not redo or lib in tried or used == FALLBACK_LIBRARY:
            continue
        tried.append(lib)
        try:
            part, _ = _WORKER.run({"path": str(path), "library": lib, "include": redo}, cancelled)
        except WorkerCrashed as exc:
            log.info("%s: %s crashed re-meshing %d products (%s)", path, lib, len(redo), exc)
            continue
        part = _drop_elements(part, np.union1d(_suspicious(part), _clip_violators(part, clips)))
        parts.append(part)
        n_fallback += int(part["elem_id"].shape[0])
        done = set(part["elem_id"].tolist())
        got |= done
        redo = [i for i in redo if i not in done]
    if slow_sent:
        if FALLBACK_LIBRARY not in tried:
            tried.append(FALLBACK_LIBRARY)
        try:
            part = _SLOW_WORKER.result(cancelled)
            parts.append(part)
            n_fallback += int(part["elem_id"].shape[0])
            got |= set(part["elem_id"].tolist())
        except WorkerCrashed as exc:
            log.info("%s: %s crashed on %d products (%s)", path, FALLBACK_LIBRARY, len(exact), exc)
        redo = sorted(set(redo) | (exact_set - got))
    if redo and used != FALLBACK_LIBRARY:
        if FALLBACK_LIBRARY not in tried:
            tried.append(FALLBACK_LIBRARY)
        try:
            part, _ = _WORKER.run(
                {"path": str(path), "library": FALLBACK_LIBRARY, "include": redo}, cancelled
            )
            parts.append(part)
            n_fallback += int(part["elem_id"].shape[0])
            got |= set(part["elem_id"].tolist())
        except WorkerCrashed as exc:
            report.warn(f"{FALLBACK_LIBRARY} crashed meshing {len(redo)} products ({exc})")
    merged = merge_meshes(parts)
    libs = " or ".join(tried)
    missing = [
        f"#{i} {expected[i].is_a()} {expected[i].Name or ''!s} ({expected[i].GlobalId}): "
        f"no geometry from {libs}"
        for i in sorted(set(expected) - got)
    ]
    return merged, missing, n_fallback, side


def _rows_of(m: dict[str, Any], steps: set[int]) -> np.ndarray[Any, Any]:
    """Rows of `m`'s elements whose STEP id is in `steps`."""
    if not steps:
        return np.zeros(0, np.int64)
    return np.flatnonzero(np.isin(m["elem_id"], np.fromiter(steps, np.int64)))


def merge_meshes(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """Concatenate meshing results (later parts' indices shifted)."""
    if len(parts) == 1:
        return parts[0]
    nv = np.cumsum([0] + [p["verts"].shape[0] for p in parts])
    ne = np.cumsum([0] + [p["elem_id"].shape[0] for p in parts])
    nm = np.cumsum([0] + [p["mat_rgb"].shape[0] for p in parts])
    return {
        "elem_id": np.concatenate([p["elem_id"] for p in parts]),
        "empty_id": np.concatenate([p["empty_id"] for p in parts]),
        "verts": np.concatenate([p["verts"] for p in parts]),
        "tris": np.concatenate([p["tris"] + nv[i] for i, p in enumerate(parts)]),
        "tri_elem": np.concatenate(
            [(p["tri_elem"] + ne[i]).astype(np.int32) for i, p in enumerate(parts)]
        ),
        "tri_mat": np.concatenate(
            [
                np.where(p["tri_mat"] >= 0, p["tri_mat"] + nm[i], -1).astype(np.int32)
                for i, p in enumerate(parts)
            ]
        ),
        "mat_rgb": np.concatenate([p["mat_rgb"] for p in parts]),
        "library": parts[0]["library"],
        "pid": parts[0].get("pid"),
    }


#: Bump when what the cache holds (or how it is made) changes.
CACHE_FORMAT = 3
#: Table columns of an IFC layer (see :mod:`twin_app.model.bim`), then our own.
TABLE_COLUMNS = (
    "id",
    "name",
    "ifc_class",
    "storey",
    "storey_index",
    "storey_elevation_m",
    "material",
    "color",
    "psets",
    "predefined_type",
    "step_id",
)
_STR_COLUMNS = (
    "id",
    "name",
    "ifc_class",
    "storey",
    "material",
    "color",
    "psets",
    "predefined_type",
)


def ifc_cache_dir() -> Path:
    """``$TWIN_APP_CACHE/ifc`` or ``~/.cache/twin_app/ifc`` (the root other caches use)."""
    root = os.environ.get("TWIN_APP_CACHE")
    base = Path(root) if root else Path.home() / ".cache" / "twin_app"
    return base / "ifc"


def cache_key(path: Path, options: ReadOptions) -> str:
    """SHA-256 of the file's bytes, the meshing settings and :data:`CACHE_FORMAT`."""
    import ifcopenshell

    from twin_app.io.ifc_worker import EXCLUDED_CLASSES, MESH_SETTINGS

    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    settings = {
        "format": CACHE_FORMAT,
        "library": options.ifc_library,
        "fallback": FALLBACK_LIBRARY,
        "mesh": MESH_SETTINGS,
        "excluded": EXCLUDED_CLASSES,
        "ifcopenshell": ifcopenshell.version,
    }
    h.update(json.dumps(settings, sort_keys=True).encode())
    return h.hexdigest()


def _save_cache(file: Path, arrays: dict[str, Any], meta: dict[str, Any]) -> None:
    import tempfile

    file.parent.mkdir(parents=True, exist_ok=True)
    # written aside and renamed: a reader sees the old entry, the new one, or none
    fd, tmp = tempfile.mkstemp(prefix=f".{file.stem}.", suffix=".tmp", dir=file.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)
        Path(tmp).replace(file)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _load_cache(file: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    with np.load(file, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files if k != "meta"}
        meta = json.loads(str(z["meta"]))
    if int(meta.get("format", -1)) != CACHE_FORMAT:
        raise ValueError(f"cache format {meta.get('format')} is not {CACHE_FORMAT}")
    return arrays, meta


def _build_model(
    path: Path,
    options: ReadOptions,
    report: LoadReport,
    progress: Progress,
    cancelled: Cancelled | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Mesh and describe the file, independent of where it is placed.

    Returns (arrays, meta): arrays ``verts``, ``tris``, the cell arrays and the table columns
    (``col_<name>``); meta the schema, storeys, the file's own georeference, class counts,
    missing lines and meshing facts, as JSON-able values.
    """
    progress(0.1, f"meshing {path.name}")
    opened: list[Any] = []

    def discover() -> dict[int, Any]:
        # parse here while the worker meshes (the other core)
        f = _open(path, report)
        opened.append(f)
        return expected_products(f)

    def describe(expected: dict[int, Any]) -> dict[int, tuple[str, ...]]:
        memo: dict[int, Any] = {}
        return {i: _attributes(e, memo) for i, e in expected.items()}

    merged, missing, n_fallback, attrs = mesh_products(
        path, discover, describe, options, report, cancelled
    )
    f = opened[-1]
    progress(0.8, f"assembling {path.name}")
    elem_step = merged["elem_id"]
    rows = [attrs[i] if i in attrs else _attributes(f.by_id(i)) for i in elem_step.tolist()]
    classes = np.array([r[2] for r in rows], dtype=object)
    storeys = storeys_of(f)
    storey_row = {sid: st.index for sid, st in storeys}
    st_idx = np.array(_storey_rows(elem_step.tolist(), _parents(f), storey_row), np.int16)
    code_of = {c: i for i, c in enumerate(IFC_CLASSES)}
    class_code = np.array([code_of.get(c, -1) for c in classes], np.int16)
    # colours: the triangle's material colour, else its class colour
    k = elem_step.shape[0]
    class_rgb = np.array([CLASS_RGB.get(c, DEFAULT_RGB) for c in classes], np.uint8).reshape(k, 3)
    tri_elem = merged["tri_elem"].astype(np.int32)
    tri_mat = merged["tri_mat"]
    mat_rgb = np.clip(np.rint(merged["mat_rgb"] * 255.0), 0, 255).astype(np.uint8)
    rgb = class_rgb[tri_elem]
    has = tri_mat >= 0
    rgb[has] = mat_rgb[tri_mat[has]]
    # an element's colour: that of its first triangle
    first_tri = np.full(k, max(tri_elem.shape[0] - 1, 0), np.int64)
    np.minimum.at(first_tri, tri_elem, np.arange(tri_elem.shape[0]))
    elem_rgb = rgb[first_tri] if tri_elem.shape[0] else class_rgb
    storey_names = np.array([st.name for _, st in storeys] + [""], dtype=object)
    storey_elev = np.array([st.elevation_m for _, st in storeys] + [np.nan], np.float64)
    columns: dict[str, Any] = {
        "id": [r[0] for r in rows],
        "name": [r[1] for r in rows],
        "ifc_class": classes.tolist(),
        "storey": storey_names[st_idx].tolist(),
        "storey_index": st_idx.astype(np.int64),
        "storey_elevation_m": storey_elev[st_idx],
        "material": [r[3] for r in rows],
        "color": [f"#{r:02x}{g:02x}{b:02x}" for r, g, b in elem_rgb.tolist()],
        "psets": [r[4] for r in rows],
        "predefined_type": [r[5] for r in rows],
        "step_id": elem_step.astype(np.int64),
    }
    arrays: dict[str, Any] = {
        "verts": merged["verts"],
        "tris": merged["tris"].astype(np.int64),
        "element_index": tri_elem,
        "ifc_class_code": class_code[tri_elem],
        "storey_index": st_idx[tri_elem],
        "rgb": rgb,
    }
    for name, col in columns.items():
        arrays[f"col_{name}"] = np.array(col, dtype=str) if name in _STR_COLUMNS else col
    georef, why = file_georef(f)
    meta = {
        "format": CACHE_FORMAT,
        "schema": str(f.schema_identifier),
        "storeys": [[st.name, st.elevation_m, st.global_id] for _, st in storeys],
        "georef": dataclasses.asdict(georef),
        "georef_problem": why,
        "class_counts": {str(c): int(n) for c, n in pd.Series(classes).value_counts().items()},
        "missing": missing,
        "library": str(merged["library"]),
        "fallback_elements": n_fallback,
        "warnings": [w.split(": ", 1)[-1] for w in report.warnings],
    }
    return arrays, meta


def read_ifc(
    path: Path,
    options: ReadOptions | None = None,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> SourceData:
    """Read an IFC file into one :class:`SourceData` of kind ``ifc``.

    Parameters
    ----------
    path
        The ``.ifc`` file.
    options
        ``at_lonlat``/``rotate_deg`` place a file (overriding its georeference);
        ``ifc_library`` chooses the fast geometry library; ``ifc_cache`` the disk cache.
    progress
        Called with (fraction 0..1, message).
    cancelled
        Polled while meshing; True kills the meshing process and raises
        :class:`~twin_app.errors.CancelledError`.

    Returns
    -------
    SourceData
        ``ifc`` holds the placed mesh, the element table and the :class:`IfcInfo`; ``crs`` is
        the CRS of its points.

    Raises
    ------
    InputError
        Not an IFC file, truncated or invalid STEP, an unknown schema, or no product with
        geometry.
    """
    opts = options or ReadOptions()
    path = Path(path)
    report = LoadReport(path.name)
    cb = _callbacks(progress, cancelled)
    cb(0.0, f"reading {path.name}")
    arrays: dict[str, Any] | None = None
    hit = False
    cache_file = ifc_cache_dir() / f"{cache_key(path, opts)}.npz" if opts.ifc_cache else None
    if cache_file is not None and cache_file.exists():
        try:
            arrays, meta = _load_cache(cache_file)
            hit = True
        except Exception as exc:  # any damage to the file: mesh again
            report.warn(
                f"mesh cache {cache_file.name} unreadable ({type(exc).__name__}); meshing again"
            )
            arrays = None
    if arrays is None:
        arrays, meta = _build_model(path, opts, report, cb, cancelled)
        if cache_file is not None:
            try:
                _save_cache(cache_file, arrays, meta)
            except OSError as exc:
                log.warning("cannot write the IFC mesh cache %s: %s", cache_file, exc)
    else:
        for w in meta["warnings"]:
            report.warn(w)
    cb(0.9, f"placing {path.name}")
    if arrays["col_id"].shape[0] == 0:
        raise InputError(f"{path}: no IFC product with geometry could be meshed")
    table = pd.DataFrame({c: arrays[f"col_{c}"] for c in TABLE_COLUMNS})
    for c in _STR_COLUMNS:
        table[c] = table[c].astype(object)
    georef = Georef(**meta["georef"])
    if opts.at_lonlat is not None:
        lon, lat = (float(v) for v in opts.at_lonlat)
        georef = Georef("user", "EPSG:4326", lon, lat, 0.0, float(opts.rotate_deg), 1.0)
    elif meta["georef_problem"]:
        report.warn(
            f"{meta['georef_problem']}; placed at the twin's origin, unrotated; place it with "
            "--at LON,LAT --rotate DEG"
        )
    points, crs = place_points(arrays["verts"], georef)
    missing = list(meta["missing"])
    if not hit:
        for line in missing[:3]:
            report.warn(line)
        if len(missing) > 3:
            report.warn(f"{len(missing)} products in all have no geometry (see the layer's info)")
    info = IfcInfo(
        schema=meta["schema"],
        storeys=tuple(
            IfcStorey(i, str(n), float(e), str(g)) for i, (n, e, g) in enumerate(meta["storeys"])
        ),
        georef=georef,
        class_counts=dict(meta["class_counts"]),
        missing=tuple(missing),
        geometry_library=meta["library"],
        fallback_elements=int(meta["fallback_elements"]),
        cache_hit=hit,
    )
    cell = {c: arrays[c] for c in ("element_index", "ifc_class_code", "storey_index", "rgb")}
    data = IfcData(
        ids=table["id"].to_numpy(object),
        table=table,
        points=points,
        triangles=arrays["tris"],
        cell_data=cell,
        info=info,
        base_z=georef.z if georef.method in ("site", "map_conversion") else 0.0,
    )
    counts = {
        "ifc_elements": len(table),
        "triangles": int(arrays["tris"].shape[0]),
        "missing": len(missing),
    }
    cb(1.0, f"read {path.name}")
    return SourceData(path, None, "ifc", crs, report, counts=counts, ifc=data)


def _callbacks(progress: Progress | None, cancelled: Cancelled | None) -> Progress:
    """One progress function that also raises :class:`CancelledError` when asked to stop."""
    from twin_app.io.source import read_callbacks

    ctx_progress, ctx_cancelled = read_callbacks()
    prog = progress or ctx_progress
    canc = cancelled or ctx_cancelled

    def step(frac: float, msg: str) -> None:
        if canc is not None and canc():
            raise CancelledError("loading cancelled")
        if prog is not None:
            prog(frac, msg)

    return step
