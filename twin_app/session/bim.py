"""Session verbs for IFC layers (issue 12): storeys, section, explode, spaces, and replacing
the city buildings an IFC building stands on. Each edit is one undoable command.

:class:`BimVerbs` is a mixin of :class:`~twin_app.session.core.Session` (it uses the session's
``layers`` and ``commands``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from twin_app.errors import TwinError
from twin_app.model.commands import Command, CommandStack
from twin_app.model.layers import BuildingLayer, IfcLayer

if TYPE_CHECKING:
    from psygnal.containers import EventedList

    from twin_app.io.load import LoadResult
    from twin_app.io.source import ReadOptions
    from twin_app.model.city import CityModel, FeatureSet
    from twin_app.model.layers import Layer
    from twin_app.session.core import SourceRef

#: IfcLayer fields set by :meth:`BimVerbs.set_ifc_view`.
IFC_VIEW_FIELDS = ("hidden_storeys", "section_storey", "explode", "show_spaces")
#: Table column of a buildings layer naming the IFC file that replaces a building ("": none).
REPLACED_BY = "replaced_by"


class BimVerbs:
    """The IFC verbs of a Session."""

    layers: EventedList[Layer]
    commands: CommandStack
    city: CityModel | None
    sources: list[SourceRef]

    def set_ifc_view(self, layer: IfcLayer, **fields: Any) -> None:
        """Set view fields of an IFC layer (``hidden_storeys``, ``section_storey``,
        ``explode``, ``show_spaces``) as one undo step; repeated changes of one field merge
        (an explode slider drag is one step)."""
        bad = set(fields) - set(IFC_VIEW_FIELDS)
        if bad:
            raise TwinError(
                f"unknown IFC view field(s) {', '.join(sorted(bad))}; use {', '.join(IFC_VIEW_FIELDS)}"
            )
        if "hidden_storeys" in fields:
            fields["hidden_storeys"] = frozenset(int(i) for i in fields["hidden_storeys"])
        if "explode" in fields:
            gap = float(fields["explode"])
            if not np.isfinite(gap) or gap < 0:
                raise TwinError(f"{layer.name}: explode must be a gap of 0 m or more, not {gap}")
            fields["explode"] = gap
        n = len(layer.storeys())
        s = fields.get("section_storey")
        if s is not None and not 0 <= int(s) < n:
            raise TwinError(f"{layer.name}: no storey {s} (it has {n})")
        before = {k: getattr(layer, k) for k in fields}
        if all(before[k] == v for k, v in fields.items()):
            return

        def apply(values: dict[str, Any]) -> None:
            for k, v in values.items():
                setattr(layer, k, v)

        key = ",".join(sorted(fields))
        self.commands.push(
            Command(
                f"Set {', '.join(fields)} of {layer.name}",
                lambda: apply(fields),
                lambda: apply(before),
                merge_key=f"ifc:{layer.uid}:{key}",
            )
        )

    def set_storey_visible(self, layer: IfcLayer, storey: int, visible: bool) -> None:
        """Show or hide one storey (index into ``layer.storeys()``) of an IFC layer."""
        n = len(layer.storeys())
        if not 0 <= storey < n:
            raise TwinError(f"{layer.name}: no storey {storey} (it has {n})")
        hidden = set(layer.hidden_storeys)
        (hidden.discard if visible else hidden.add)(int(storey))
        self.set_ifc_view(layer, hidden_storeys=frozenset(hidden))

    def set_section(self, layer: IfcLayer, storey: int | None) -> None:
        """Section view: show `storey` and those below, cut above it (None: off)."""
        self.set_ifc_view(layer, section_storey=None if storey is None else int(storey))

    def set_explode(self, layer: IfcLayer, gap_m: float) -> None:
        """Lift each storey ``i`` by ``i * gap_m`` metres (0: off)."""
        self.set_ifc_view(layer, explode=gap_m)

    def set_show_spaces(self, layer: IfcLayer, show: bool) -> None:
        """Show the IfcSpace volumes (translucent) or hide them."""
        self.set_ifc_view(layer, show_spaces=bool(show))

    def buildings_under(self, layer: IfcLayer) -> list[tuple[BuildingLayer, np.ndarray[Any, Any]]]:
        """The city buildings an IFC layer stands on: (buildings layer, rows) per layer with
        any (footprints overlapping the IFC building's, see
        :func:`twin_app.geometry.overlap.features_under`)."""
        from twin_app.geometry.overlap import features_under, mesh_footprint

        fs = layer.features
        if fs is None or not fs.mesh.n_triangles:
            return []
        codes = fs.mesh.cell_data.get("ifc_class_code")
        solid = (  # spaces are rooms inside; the elements make the footprint
            np.asarray(codes) != IfcLayer.SPACE_CODE
            if codes is not None
            else np.ones(fs.mesh.n_triangles, bool)
        )
        footprint = mesh_footprint(fs.mesh.points, fs.mesh.triangles[solid])
        out = []
        for other in self.layers:
            if isinstance(other, BuildingLayer) and other.features is not None:
                rows = features_under(other.features, footprint)
                if rows.size:
                    out.append((other, rows))
        return out

    def replace_buildings_under(self, layer: IfcLayer, on: bool = True) -> int:
        """Let an IFC building replace the city buildings it stands on (one undo step).

        On: those buildings are hidden in the view (``hidden_features`` of their layer) and
        their ``replaced_by`` table column names the IFC file; off: the buildings this IFC
        file replaced come back. Returns how many buildings changed. (Opening an IFC file
        over a city does this by itself, in the open's undo step.)
        """
        step = self.replacement(layer, on)
        if step is None:
            return 0
        count, do, undo = step
        verb = "Replace" if on else "Restore"
        self.commands.push(Command(f"{verb} {count} building(s) under {layer.name}", do, undo))
        return count

    def replacement(
        self, layer: IfcLayer, on: bool = True
    ) -> tuple[int, Callable[[], None], Callable[[], None]] | None:
        """How :meth:`replace_buildings_under` would change the buildings layers, without
        changing them: (buildings changed, do, undo), or None when no building changes."""
        fs = layer.features
        if fs is None:
            return None
        tag = Path(fs.source).name
        changes: list[tuple[BuildingLayer, frozenset[int], frozenset[int], Any, Any]] = []
        if on:
            targets = self.buildings_under(layer)
        else:
            targets = []
            for other in self.layers:
                bfs = other.feature_set() if isinstance(other, BuildingLayer) else None
                if bfs is not None and REPLACED_BY in bfs.table:
                    rows = np.flatnonzero(bfs.table[REPLACED_BY].to_numpy(object) == tag)
                    if rows.size:
                        targets.append((other, rows))  # type: ignore[arg-type]
        for other, rows in targets:
            bfs = other.features
            assert bfs is not None
            before_col = bfs.table[REPLACED_BY].copy() if REPLACED_BY in bfs.table else None
            col = (
                before_col.to_numpy(object).copy()
                if before_col is not None
                else np.full(bfs.n_features, "", dtype=object)
            )
            col[rows] = tag if on else ""
            hidden = set(other.hidden_features)
            if on:
                hidden |= {int(r) for r in rows}
            else:
                hidden -= {int(r) for r in rows}
            changes.append((other, other.hidden_features, frozenset(hidden), before_col, col))
        if not changes:
            return None
        count = sum(len(c[2] ^ c[1]) for c in changes)

        def do() -> None:
            for other, _, hidden, _, col in changes:
                assert other.features is not None
                other.features.table[REPLACED_BY] = col
                other.hidden_features = hidden

        def undo() -> None:
            for other, old, _, before_col, _ in changes:
                assert other.features is not None
                if before_col is None:
                    del other.features.table[REPLACED_BY]
                else:
                    other.features.table[REPLACED_BY] = before_col
                other.hidden_features = old

        return count, do, undo

    def place_ifc(self, layer: IfcLayer, result: LoadResult, options: ReadOptions) -> None:
        """Put an IFC layer where a new read of its file (with ``at_lonlat``/``rotate_deg``
        in `options`) placed it: the layer's features and its source's saved read options
        change as one undo step (read the file off the GUI thread with
        :meth:`Session.load_files`).

        Raises
        ------
        TwinError
            If the load produced no IFC set (its errors are in the message).
        """
        from twin_app.model.city import IFC

        new = next((fs for fs in result.city.sets if fs.kind == IFC), None)
        if new is None:
            raise TwinError(
                f"{layer.name}: placing it read nothing ({'; '.join(result.errors) or 'no elements'})"
            )
        old = layer.features
        assert old is not None
        source = Path(old.source).name
        ref = next((r for r in self.sources if r.path.name == source), None)
        old_opts = dict(ref.options) if ref is not None else {}
        new_opts = {**old_opts, **{k: v for k, v in vars(options).items() if v is not None}}
        city = self.city
        new.name = old.name

        def swap(fs: FeatureSet, opts: dict[str, Any]) -> None:
            if city is not None:
                sets = city.sets
                if layer.features in sets:
                    sets[sets.index(layer.features)] = fs
            if ref is not None:
                ref.options = dict(opts)
            layer.features = fs

        # A building that replaced city buildings where it stood replaces those where it
        # goes (found on the first do, redone and undone with the move).
        replacing = self.replacement(layer, on=False) is not None
        Step = tuple[int, Callable[[], None], Callable[[], None]]
        release: list[Step] = []  # the buildings under the old place come back
        take: list[Step] = []  # the buildings under the new place go
        found = [False]

        def do() -> None:
            first = not found[0]
            found[0] = True
            if first and replacing:
                step = self.replacement(layer, on=False)
                release.extend([step] if step is not None else [])
            for r in release:
                r[1]()
            swap(new, new_opts)
            if first and replacing:
                step = self.replacement(layer, on=True)
                take.extend([step] if step is not None else [])
            for t in take:
                t[1]()

        def undo() -> None:
            for t in take:
                t[2]()
            swap(old, old_opts)
            for r in release:
                r[2]()

        self.commands.push(Command(f"Place {layer.name}", do, undo))
