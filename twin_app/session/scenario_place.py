"""Scenario verbs that place things on the map (issue 9): buildings, stations, robot depots.

A mixin of :class:`~twin_app.session.scenario.ScenarioVerbs` (no Qt): each verb turns what the
user drew, picked or selected in the session's local frame into one intervention of
:mod:`twin_app.scenarios.file` and adds it through
:meth:`~twin_app.session.scenario.ScenarioVerbs.add_intervention` (one undoable step).

Positions go into the file as WGS 84 ``lonlat``: the session's local frame is the twin's only
when the twin was the first thing opened, while lon/lat means the same place whatever frame
the scenario's run builds (:func:`twin_app.scenarios.massing.massing_model_for_twin`).

Building ids are the building layer's feature ids, the ids the massing model uses too
(``way/123``, ``relation/456``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from twin_app.errors import TwinError

if TYPE_CHECKING:
    from psygnal.containers import EventedList

    from twin_app.model.frame import LocalFrame
    from twin_app.model.layers import Layer
    from twin_app.scenarios.file import (
        AddBuilding,
        AddIfc,
        AddRobots,
        RemoveBuilding,
        Scenario,
        SetHeight,
    )
    from twin_app.scenarios.radio import AddStation
    from twin_app.session.core import Selection, SourceRef

#: Height of a ground-mounted mast, metres: the UMa base station height of 3GPP TR 38.901
#: Table 7.4.1-1 (hBS = 25 m).
GROUND_MAST_M = 25.0
#: Height of a rooftop mast above the roof, metres (``mast_m``'s default in the file).
ROOF_MAST_M = 3.0
#: Corners closer than this (metres) are one corner (a double click adds the last one twice).
SAME_CORNER_M = 0.01


def _fail(message: str) -> TwinError:
    """A :class:`~twin_app.session.scenario.ScenarioError` (imported late: that module
    imports this one)."""
    from twin_app.session.scenario import ScenarioError

    return ScenarioError(message)


def clean_footprint(footprint_xy: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
    """A drawn footprint as an (n, 2) ring of distinct corners, checked.

    Repeated consecutive corners (and a closing corner equal to the first) are dropped.

    Raises
    ------
    ScenarioError
        Not (n, 2) numbers, a non-finite corner, fewer than 3 distinct corners, no area, or a
        self-intersecting outline (shapely's reason given).
    """
    import shapely

    try:
        pts = np.asarray(footprint_xy, dtype=np.float64)
    except (TypeError, ValueError):
        raise _fail("a footprint must be (n, 2) numbers (x, y in metres)") from None
    if pts.ndim != 2 or pts.shape[1] < 2:
        raise _fail(f"a footprint must be (n, 2) x, y corners, got shape {pts.shape}")
    pts = pts[:, :2]
    if not np.isfinite(pts).all():
        raise _fail("a footprint corner is not a finite number")
    if len(pts) > 1:
        step = np.linalg.norm(np.diff(pts, axis=0), axis=1)
        pts = pts[np.concatenate([[True], step > SAME_CORNER_M])]
    if len(pts) > 1 and np.linalg.norm(pts[-1] - pts[0]) <= SAME_CORNER_M:
        pts = pts[:-1]
    if len(pts) < 3:
        raise _fail(f"a footprint needs at least 3 distinct corners (got {len(pts)})")
    centred = pts - pts.mean(axis=0)
    if np.linalg.svd(centred, compute_uv=False)[1] <= 1e-9 * max(np.abs(centred).max(), 1.0):
        raise _fail("the footprint has no area (its corners are on one line)")
    poly = shapely.Polygon(pts)
    if not poly.is_valid:
        raise _fail(
            f"the footprint crosses itself ({shapely.is_valid_reason(poly)}); draw its corners "
            "in order around the building"
        )
    return pts


class PlaceVerbs:
    """Verbs that make interventions from what is drawn or picked on the map (a mixin)."""

    if TYPE_CHECKING:
        layers: EventedList[Layer]
        sources: list[SourceRef]

        @property
        def frame(self) -> LocalFrame | None: ...

        @property
        def scenario(self) -> Scenario: ...

        def find_layer(self, uid: int) -> Layer | None: ...

        def add_intervention(self, spec: Any) -> int: ...

    # -- helpers ---------------------------------------------------------------------------------
    def _lonlat(self, xy: Any) -> np.ndarray[Any, np.dtype[np.float64]]:
        frame = self.frame
        if frame is None:
            raise _fail("open a twin first: nothing to place on")
        out: np.ndarray[Any, np.dtype[np.float64]] = np.asarray(
            frame.to_lonlat(np.asarray(xy, dtype=np.float64).reshape(-1, 2)), dtype=np.float64
        )
        return out

    def _building_ids(self, selection: Selection) -> list[str]:
        layer = self.find_layer(selection.layer_uid)
        if layer is None or layer.kind != "buildings" or selection.empty:
            raise _fail("select buildings on the map first")
        fs = layer.feature_set()
        assert fs is not None
        ids = [str(fs.ids[i]) for i in selection.indices]
        return list(dict.fromkeys(ids))

    def _is_building(self, selection: Selection | None) -> str | None:
        if selection is None or selection.empty:
            return None
        layer = self.find_layer(selection.layer_uid)
        if layer is None or layer.kind != "buildings":
            return None
        fs = layer.feature_set()
        return None if fs is None else str(fs.ids[selection.indices[0]])

    def _taken_ids(self) -> set[str]:
        s = self.scenario
        taken = {str(getattr(v, "id", "") or "") for v in s.interventions}
        if s.radio is not None:
            taken |= {st.id for st in s.radio.stations}
        return taken

    def _add(self, cls: type[Any], **fields: Any) -> Any:
        """Make an intervention of `cls` from `fields` and add it (one undo step); a field
        the file's schema refuses is a one-line ScenarioError naming the kind."""
        try:
            spec = cls(**fields)
        except ValueError as exc:  # pydantic's ValidationError is a ValueError
            kind = cls.model_fields["kind"].default
            raise _fail(f"{kind}: {str(exc).splitlines()[-1].strip()}") from None
        self.add_intervention(spec)
        return spec

    # -- buildings ------------------------------------------------------------------------------
    def add_building_at(
        self,
        footprint_xy: Any,
        height_m: float | None = None,
        floors: int | None = None,
        storey_m: float = 3.0,
        building_id: str | None = None,
    ) -> AddBuilding:
        """Add a new building with a footprint drawn in the session's local metres.

        Parameters
        ----------
        footprint_xy
            (n, 2) corners, x east and y north in metres (a third column is ignored), in order
            around the building; repeated corners are dropped (:func:`clean_footprint`).
        height_m, floors, storey_m
            The height, or the floors times the storey height (exactly one of the two).
        building_id
            Its id (default: ``new/K``, the file's default).

        Returns
        -------
        AddBuilding
            The intervention added (its corners as ``lonlat``, WGS 84 degrees).

        Raises
        ------
        ScenarioError
            A bad footprint (see :func:`clean_footprint`), no height or both, or no twin.
        """
        from twin_app.scenarios.file import AddBuilding

        if (height_m is None) == (floors is None):
            raise _fail("give the new building a height in metres or a number of floors")
        if height_m is not None and not (np.isfinite(height_m) and 0 < height_m <= 2000):
            raise _fail(f"a building height must be in (0, 2000] m, got {height_m}")
        if floors is not None and not 1 <= floors <= 500:
            raise _fail(f"a building has 1 to 500 floors, got {floors}")
        ring = self._lonlat(clean_footprint(footprint_xy))
        corners = tuple((float(lon), float(lat)) for lon, lat in ring)
        spec: AddBuilding = self._add(
            AddBuilding,
            lonlat=corners,
            height_m=height_m,
            floors=floors,
            storey_m=storey_m,
            id=building_id,
        )
        return spec

    def remove_buildings_at(self, selection: Selection) -> RemoveBuilding:
        """Demolish the selected buildings (one ``remove_building`` of their ids).

        Raises
        ------
        ScenarioError
            Nothing selected, or not buildings.
        """
        from twin_app.scenarios.file import RemoveBuilding

        spec = RemoveBuilding(buildings=tuple(self._building_ids(selection)))
        self.add_intervention(spec)
        return spec

    def set_height_at(self, selection: Selection, height_m: float) -> SetHeight:
        """Re-extrude the selected buildings to `height_m` metres (one ``set_height``).

        Raises
        ------
        ScenarioError
            Nothing selected, not buildings, or a height outside (0, 2000] m.
        """
        from twin_app.scenarios.file import SetHeight

        if not (np.isfinite(height_m) and 0 < height_m <= 2000):
            raise _fail(f"a building height must be in (0, 2000] m, got {height_m}")
        spec = SetHeight(buildings=tuple(self._building_ids(selection)), height_m=height_m)
        self.add_intervention(spec)
        return spec

    def add_building_from_ifc(self, layer: Layer, building_id: str | None = None) -> AddIfc:
        """Propose an IFC model, as placed in the twin, as a new building (``add_ifc``).

        The scenario gets the model's own body (every element but ``IfcSite`` and
        ``IfcSpace``: :func:`twin_app.scenarios.interventions.ifc_body`), read from the layer's
        file and placed where the session placed it (``at`` and ``rotate_deg`` when the user or
        the twin's manifest placed it, else the file's own georeference), so the sun, shadow
        and line-of-sight studies meet its real roofs and walls; the city buildings it
        replaces in the view (``replaced_by``) are its ``replaces``.

        Raises
        ------
        ScenarioError
            Not an IFC layer, no element geometry in it, a model not placed on the Earth (or
            placed far from the twin), or a file the session did not read (or two of that
            name).
        """
        from pathlib import Path

        from twin_app.model.bim import IFC_CLASSES
        from twin_app.scenarios.file import AddIfc

        fs = layer.feature_set()
        if layer.kind != "ifc" or fs is None or fs.mesh is None or fs.mesh.n_triangles == 0:
            raise _fail(f"{layer.name}: not an IFC model with geometry")
        code = np.asarray(fs.mesh.cell_data.get("ifc_class_code", np.full(fs.mesh.n_triangles, -1)))
        skip = [IFC_CLASSES.index(c) for c in ("IfcSite", "IfcSpace") if c in IFC_CLASSES]
        if np.isin(code, skip).all():
            raise _fail(f"{layer.name}: the IFC model has no building elements")
        name = Path(fs.source).name
        refs = [r for r in self.sources if r.path.name == name]
        if not refs:
            raise _fail(f"{layer.name}: the session did not read it from a file")
        if len(refs) > 1:
            raise _fail(
                f"{layer.name}: {len(refs)} open files are called {name}; propose it from a "
                'scenario file (kind = "add_ifc", ifc = its path)'
            )
        ref = refs[0]
        at = ref.options.get("at_lonlat")
        georef = getattr(getattr(fs, "meta", None), "georef", None)
        if at is None and (georef is None or georef.method == "none"):
            raise _fail(
                f"{layer.name}: the model is not placed on the Earth; place it on the map first"
            )
        from twin_app.io.load import IFC_FAR_M

        lo, hi = fs.mesh.points[:, :2].min(axis=0), fs.mesh.points[:, :2].max(axis=0)
        far = float(np.hypot(*(0.5 * (lo + hi))))
        if far > IFC_FAR_M:
            raise _fail(
                f"{layer.name}: it lies {far / 1000:.0f} km from the twin's centre; place it "
                "on the map first"
            )
        # the city buildings it stands in place of in the view go in the scenario too
        from twin_app.session.bim import REPLACED_BY
        from twin_app.session.study_scene import buildings_layer

        city = buildings_layer(self)  # type: ignore[arg-type]
        cfs = city.feature_set() if city is not None else None
        replaces: tuple[str, ...] = ()
        if cfs is not None and REPLACED_BY in cfs.table:
            rows = np.flatnonzero(cfs.table[REPLACED_BY].to_numpy(object) == name)
            replaces = tuple(str(cfs.ids[r]) for r in rows)
        spec: AddIfc = self._add(
            AddIfc,
            ifc=ref.path,
            at=None if at is None else (float(at[0]), float(at[1])),
            rotate_deg=float(ref.options.get("rotate_deg", 0.0)) if at is not None else 0.0,
            id=building_id,
            replaces=replaces,
        )
        return spec

    # -- stations and depots ------------------------------------------------------------------
    def add_station_at(
        self,
        xyz: Any,
        on: Selection | None = None,
        station_id: str | None = None,
        mast_m: float = ROOF_MAST_M,
        ground_height_m: float = GROUND_MAST_M,
        **fields: Any,
    ) -> AddStation:
        """Add a 5G base station where the user clicked.

        On a building (`on` selects a feature of a building layer: the picked one) the station
        stands on its roof, ``on_roof`` = the building's id, `mast_m` above the roof, at the
        clicked point; anywhere else it is a ground mast `ground_height_m` high at the clicked
        point's x, y.

        Parameters
        ----------
        xyz
            The picked point, local metres.
        on
            What was picked there (a :class:`~twin_app.session.core.Selection` of one feature),
            or None.
        station_id
            Its id (default ``sK``, the first not taken by the scenario).
        fields
            Other :class:`~twin_app.scenarios.radio.AddStation` fields (``tx_power_dbm``,
            ``frequency_ghz``, ``azimuths_deg`` ...).

        Raises
        ------
        ScenarioError
            A non-finite point, a taken id or a bad field.
        """
        from twin_app.scenarios.radio import AddStation

        p = np.asarray(xyz, dtype=np.float64).ravel()
        if p.size < 2 or not np.isfinite(p[:2]).all():
            raise _fail("a station needs a finite x, y (pick a point on the map)")
        taken = self._taken_ids()
        if station_id is None:
            k = 1
            while f"s{k}" in taken:
                k += 1
            station_id = f"s{k}"
        elif station_id in taken:
            raise _fail(f"a station or element {station_id!r} is already in the scenario")
        lon, lat = self._lonlat(p[:2])[0]
        roof = self._is_building(on)
        where: dict[str, Any] = (
            {"on_roof": roof, "mast_m": mast_m}
            if roof is not None
            else {"height_m": ground_height_m}
        )
        spec: AddStation = self._add(
            AddStation, id=station_id, lonlat=(float(lon), float(lat)), **where, **fields
        )
        return spec

    def add_robots_at(self, xyz: Any, count: int = 1) -> AddRobots:
        """Buy `count` patrol robots kept at a depot where the user clicked (``add_robots``).

        Raises
        ------
        ScenarioError
            A non-finite point or a count outside 1..10000.
        """
        from twin_app.scenarios.file import AddRobots

        p = np.asarray(xyz, dtype=np.float64).ravel()
        if p.size < 2 or not np.isfinite(p[:2]).all():
            raise _fail("a depot needs a finite x, y (pick a point on the map)")
        if not 1 <= count <= 10_000:
            raise _fail(f"add 1 to 10000 robots, got {count}")
        lon, lat = self._lonlat(p[:2])[0]
        spec = AddRobots(count=count, depot=(float(lon), float(lat)))
        self.add_intervention(spec)
        return spec


__all__ = ["GROUND_MAST_M", "ROOF_MAST_M", "PlaceVerbs", "clean_footprint"]
