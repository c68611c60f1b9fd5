"""Underground pipe networks (EPANET water distribution) as plain tables.

A :class:`PipeNetwork` is what :func:`twin_app.io.epanet.read_inp` returns: a node table, a link
table and the interior vertices of the links, all in SI units, with the coordinates exactly as the
file gives them. It lives in ``model`` (not next to its reader in ``io``) so that layers and
sessions can hold one without importing a reader.

EPANET files carry no coordinate reference system. A
:class:`~twin_app.geometry.placement.Placement` says how to put the coordinates into the twin's
local frame: either they *are* in a known CRS (an EPSG code), or the
network is *laid out* into given local bounds by an affine map (uniform scale + translation,
keeping the aspect ratio). The second is how a sample twin shows a network from another city under
its own district; the load report says so, because it is not the network's real location.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from twin_app.model.city import Polylines
from twin_app.model.mesh import FloatArray, IntArray

#: Node types in the ``type`` column of :attr:`PipeNetwork.nodes`.
JUNCTION = "junction"
RESERVOIR = "reservoir"
TANK = "tank"
#: Link types in the ``type`` column of :attr:`PipeNetwork.links`.
PIPE = "pipe"
PUMP = "pump"
VALVE = "valve"

#: Columns of the node table, in order.
NODE_COLUMNS = ("id", "type", "x", "y", "elevation_m", "base_demand_m3s")
#: Columns of the link table, in order.
LINK_COLUMNS = (
    "id",
    "type",
    "start",
    "end",
    "diameter_m",
    "length_m",
    "roughness",
    "status",
    "valve_type",
)


@dataclass(frozen=True, eq=False)
class PipeNetwork:
    """A water distribution network read from an EPANET ``.inp`` file, in SI units.

    Node and link order is EPANET's order for a file written by wntr: junctions, then
    reservoirs, then tanks; pipes, then pumps, then valves (each in file order). Results of
    :func:`twin_app.engines.water.simulate` come in the same order (match by id to be safe).

    Attributes
    ----------
    source
        The file.
    name
        Short name for layer titles (the file stem).
    nodes
        One row per node: ``id`` (str), ``type`` (``junction``/``reservoir``/``tank``), ``x``,
        ``y`` (file coordinates, no CRS; NaN when the file gives none for that node),
        ``elevation_m`` (junction/tank bottom elevation; a reservoir's base head), and
        ``base_demand_m3s`` (sum of a junction's base demands in m³/s before patterns and the
        demand multiplier; 0 for reservoirs and tanks).
    links
        One row per link: ``id``, ``type`` (``pipe``/``pump``/``valve``), ``start`` and ``end``
        (int row of `nodes`), ``diameter_m`` (NaN for pumps), ``length_m`` (NaN for pumps and
        valves), ``roughness`` (Hazen-Williams C or Chezy-Manning n, dimensionless as in the
        file; Darcy-Weisbach absolute roughness converted to metres), ``status`` (initial
        ``open``, ``closed``, ``active`` for valves, ``cv`` for pipes with a check valve) and
        ``valve_type`` (``PRV``, ``TCV`` ..., empty for other links).
    vertex_xy
        (m, 2) interior vertices of the links ([VERTICES]), file coordinates.
    vertex_offsets
        (n_links + 1,) start of each link's vertices in `vertex_xy`.
    flow_units
        The file's flow units (``LPS``, ``GPM`` ...); US units (CFS, GPM, MGD, IMGD, AFD) mean
        feet, inches and psi in the file. Everything here is converted to SI.
    headloss
        ``H-W``, ``D-W`` or ``C-M``.
    parser
        ``wntr`` or ``minimal`` (the fallback that reads only what drawing needs; such a
        network cannot be simulated).
    placement
        How the coordinates reach the local frame, if decided at load (a
        :class:`twin_app.geometry.placement.Placement`; typed loosely because ``model`` sits
        below ``geometry``).
    report
        Warnings and skip counts (a :class:`twin_app.io.source.LoadReport`).
    """

    source: str
    name: str
    nodes: pd.DataFrame
    links: pd.DataFrame
    vertex_xy: FloatArray
    vertex_offsets: IntArray
    flow_units: str
    headloss: str
    parser: str
    report: Any
    placement: Any = None

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.nodes)

    @property
    def n_links(self) -> int:
        """Number of links."""
        return len(self.links)

    @property
    def simulable(self) -> bool:
        """True when the engine can run it (wntr could read the file)."""
        return self.parser == "wntr"

    @property
    def link_nodes(self) -> IntArray:
        """(n_links, 2) node rows of each link's start and end."""
        return np.column_stack(
            [self.links["start"].to_numpy(np.int64), self.links["end"].to_numpy(np.int64)]
        )

    def counts(self) -> dict[str, int]:
        """Number of nodes and links of every type, e.g. ``{"junction": 268, "pipe": 317}``."""
        out = {str(k): int(v) for k, v in self.nodes["type"].value_counts().items()}
        out.update({str(k): int(v) for k, v in self.links["type"].value_counts().items()})
        return out

    def total_length_m(self, link_type: str = PIPE) -> float:
        """Sum of the hydraulic lengths of the links of one type, in metres."""
        lengths = self.links.loc[self.links["type"] == link_type, "length_m"]
        return float(np.nansum(lengths.to_numpy(np.float64)))

    def xy_bounds(self) -> tuple[float, float, float, float] | None:
        """``(xmin, ymin, xmax, ymax)`` of all finite node and vertex coordinates (file units)."""
        xy = np.concatenate([self.nodes[["x", "y"]].to_numpy(np.float64), self.vertex_xy])
        xy = xy[np.isfinite(xy).all(axis=1)]
        if xy.shape[0] == 0:
            return None
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        return (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    def link_lines(
        self, node_xy: FloatArray | None = None, vertex_xy: FloatArray | None = None
    ) -> Polylines:
        """Every link as a polyline: start node, interior vertices, end node (z = 0).

        Parameters
        ----------
        node_xy, vertex_xy
            Positions to use instead of the file coordinates (e.g. local metres), (n_nodes, 2)
            and (m, 2).

        Returns
        -------
        Polylines
            One line per link in link order; ``coords`` has ``n_links * 2 + m`` points.
        """
        nxy = self.nodes[["x", "y"]].to_numpy(np.float64) if node_xy is None else node_xy
        vxy = self.vertex_xy if vertex_xy is None else vertex_xy
        return assemble_lines(
            nxy,
            vxy,
            self.vertex_offsets,
            self.links["start"].to_numpy(np.int64),
            self.links["end"].to_numpy(np.int64),
        )


def assemble_lines(
    node_xy: FloatArray,
    vertex_xy: FloatArray,
    vertex_offsets: IntArray,
    start: IntArray,
    end: IntArray,
) -> Polylines:
    """Ragged polylines ``[start node, vertices..., end node]`` per link, built without loops.

    Parameters
    ----------
    node_xy
        (n_nodes, 2) node positions.
    vertex_xy
        (m, 2) interior vertices, grouped by link.
    vertex_offsets
        (k + 1,) start of each link's vertices.
    start, end
        (k,) node rows of each link's ends.
    """
    k = start.shape[0]
    nv = np.diff(vertex_offsets)
    counts = nv + 2
    offsets = np.zeros(k + 1, np.int64)
    np.cumsum(counts, out=offsets[1:])
    coords = np.zeros((int(offsets[-1]), 3), np.float64)
    coords[offsets[:-1], :2] = node_xy[start]
    coords[offsets[1:] - 1, :2] = node_xy[end]
    if vertex_xy.shape[0]:
        link_of_vertex = np.repeat(np.arange(k), nv)
        rank = np.arange(vertex_xy.shape[0]) - vertex_offsets[:-1][link_of_vertex]
        coords[offsets[:-1][link_of_vertex] + 1 + rank, :2] = vertex_xy
    return Polylines(coords, offsets)
