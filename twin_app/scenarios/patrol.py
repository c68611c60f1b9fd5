"""Patrol robot scenarios: the twin's streets, a fleet, its routes and revisit KPIs.

Streets (:func:`street_network_for_twin`): the twin's first road layer read headless (the
files of its manifest, as :mod:`twin_app.scenarios.massing` does for the buildings), turned
into the patrol street graph by :func:`twin_app.engines.patrol.street_graph_from_road_set`
(``[patrol] streets``: the road classes patrolled, default every class but
:data:`~twin_app.engines.patrol.NON_PATROL_CLASSES`), cut to ``[patrol] bounds``, else to the
bounding box of the twin's buildings (an OSM extract keeps whole ways, some running far out of
the twin's area), edges with both ends inside, largest connected component; kept in-process
by files and settings.

Fleet (:class:`PatrolFleet`, a frozen snapshot): robots, depots, speed, run and charge hours and
hand-drawn routes. The patrol interventions are pure ``fleet -> fleet`` functions
(:data:`PATROL_INTERVENTIONS`).

Plan (:func:`patrol_plan`): a post takes ``m = ceil((run_h + charge_h) / run_h)`` robots
(:func:`twin_app.engines.patrol.robots_per_post`). Each hand-drawn route is one post
(:func:`~twin_app.engines.patrol.route_from_edges`); the remaining robots man ``k = robots //
m`` posts on the streets' postman tour split by Frederickson, Hecht and Kim
(:func:`~twin_app.engines.patrol.split_tour`) from the depots (a fleet smaller than one post
runs one route with the robots it has, not around the clock). The postman tour depends only
on the streets, so a run computes it once per baseline (:meth:`run.Baselines.patrol_tour`).

KPIs (:data:`PATROL_KPIS`, from :func:`twin_app.engines.patrol.simulate_patrol` over
``horizon_h``): ``street_coverage_pct`` (required street length revisited within
``within_min``), ``worst_revisit_min``, ``mean_response_min`` (10-minute time samples),
``robots_needed_for_target`` (for ``target_revisit_min``, with this fleet's robots and
depots) and ``capex``: robots added (``add_robots`` counts; removing robots refunds nothing)
times ``robot_unit_cost``, in ``currency``.
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from twin_app.errors import InputError
from twin_app.scenarios.file import (
    AddRobots,
    PatrolRoute,
    PatrolSection,
    RemoveRobots,
    Scenario,
    SetFleet,
)
from twin_app.scenarios.twin_city import building_sets, twin_city, twin_folder

#: The patrol KPIs in the order they are shown, with their units (capex: the currency).
PATROL_KPIS = {
    "street_coverage_pct": "%",
    "worst_revisit_min": "min",
    "mean_response_min": "min",
    "robots_needed_for_target": "robots",
    "capex": "currency",
}
#: Time step of the mean response (minutes) and of the replayed robot positions (seconds).
RESPONSE_STEP_MIN = 10.0
POSITION_STEP_S = 60.0

_CACHE: dict[str, StreetNetwork] = {}
_LOCK = threading.Lock()


@dataclass(frozen=True, eq=False)
class StreetNetwork:
    """The patrol street graph of a twin.

    Attributes
    ----------
    graph
        :class:`~twin_app.engines.patrol.StreetGraph` (local metres, edge ids ``way/1#k``).
    frame
        The twin's :class:`~twin_app.model.frame.LocalFrame` (depots in lon/lat).
    description
        What it was made from.
    """

    graph: Any
    frame: Any
    description: str


@dataclass(frozen=True)
class PatrolFleet:
    """A patrol fleet (a scenario snapshot; interventions return new ones).

    Attributes
    ----------
    robots
        Robots owned, charging ones included.
    depots
        Depots as (lon, lat); empty: the street node nearest the streets' centre.
    speed_m_s, run_h, charge_h
        What one robot does (:class:`twin_app.engines.patrol.Fleet`).
    hand_routes
        Hand-drawn routes, each a tuple of road or edge ids; one post each.
    added
        Robots bought by the scenario (the capex count).
    """

    robots: int
    depots: tuple[tuple[float, float], ...] = ()
    speed_m_s: float = 1.2
    run_h: float = 8.0
    charge_h: float = 6.0
    hand_routes: tuple[tuple[str, ...], ...] = ()
    added: int = 0

    def engine_fleet(self) -> Any:
        """The engine's :class:`~twin_app.engines.patrol.Fleet`."""
        from twin_app.engines.patrol import Fleet

        return Fleet(speed_m_s=self.speed_m_s, run_h=self.run_h, charge_h=self.charge_h)


def baseline_fleet(scenario: Scenario) -> PatrolFleet:
    """The ``[patrol]`` section's fleet (defaults without one)."""
    sec = scenario.patrol or PatrolSection()
    return PatrolFleet(
        robots=sec.robots,
        depots=tuple(sec.depots or ()),
        speed_m_s=sec.speed_m_s,
        run_h=sec.run_h,
        charge_h=sec.charge_h,
    )


def add_robots(fleet: PatrolFleet, params: AddRobots) -> PatrolFleet:
    """``count`` more robots (and their depot, when given)."""
    depots = fleet.depots
    if params.depot is not None and params.depot not in depots:
        depots = (*depots, params.depot)
    return dataclasses.replace(
        fleet, robots=fleet.robots + params.count, depots=depots, added=fleet.added + params.count
    )


def remove_robots(fleet: PatrolFleet, params: RemoveRobots) -> PatrolFleet:
    """``count`` robots fewer (at least one must stay)."""
    if params.count >= fleet.robots:
        raise ValueError(f"the fleet has {fleet.robots} robots; at least one must stay")
    return dataclasses.replace(fleet, robots=fleet.robots - params.count)


def set_fleet(fleet: PatrolFleet, params: SetFleet) -> PatrolFleet:
    """New speed, run or charge hours (those given)."""
    return dataclasses.replace(
        fleet,
        speed_m_s=fleet.speed_m_s if params.speed_m_s is None else params.speed_m_s,
        run_h=fleet.run_h if params.run_h is None else params.run_h,
        charge_h=fleet.charge_h if params.charge_h is None else params.charge_h,
    )


def patrol_route(fleet: PatrolFleet, params: PatrolRoute) -> PatrolFleet:
    """One more hand-drawn post through ``links``."""
    return dataclasses.replace(fleet, hand_routes=(*fleet.hand_routes, tuple(params.links)))


#: Patrol intervention functions by kind (pure: a new fleet, the input unchanged).
PATROL_INTERVENTIONS: dict[str, Callable[[PatrolFleet, Any], PatrolFleet]] = {
    "add_robots": add_robots,
    "remove_robots": remove_robots,
    "set_fleet": set_fleet,
    "patrol_route": patrol_route,
}


def apply_patrol(scenario: Scenario, fleet: PatrolFleet) -> PatrolFleet:
    """The scenario's patrol interventions applied in file order."""
    for i, item in scenario.patrol_interventions():
        try:
            fleet = PATROL_INTERVENTIONS[item.kind](fleet, item)
        except ValueError as exc:
            raise InputError(f"{scenario.label}: key 'interventions[{i}]': {exc}") from None
    return fleet


def _exclude(streets: tuple[str, ...] | None, classes: Any) -> tuple[str, ...]:
    from twin_app.engines.patrol import NON_PATROL_CLASSES

    if streets is None:
        return NON_PATROL_CLASSES
    return tuple(sorted(set(np.asarray(classes).astype(str)) - set(streets)))


def _clip(graph: Any, bounds: tuple[float, float, float, float]) -> Any:
    from twin_app.engines.patrol import largest_component, street_graph

    xy = graph.node_xy
    inside = (
        (xy[:, 0] >= bounds[0])
        & (xy[:, 0] <= bounds[2])
        & (xy[:, 1] >= bounds[1])
        & (xy[:, 1] <= bounds[3])
    )
    keep = inside[graph.tail] & inside[graph.head]
    if not keep.any():
        raise InputError(f"[patrol] bounds {list(bounds)}: no streets inside")
    sub = street_graph(
        graph.tail[keep],
        graph.head[keep],
        graph.length_m[keep],
        graph.ids[keep],
        n_nodes=graph.n_nodes,
        node_xy=xy,
    )
    return largest_component(sub)[0]


def street_network_for_twin(
    twin_dir: Path | str,
    streets: tuple[str, ...] | None = None,
    bounds: tuple[float, float, float, float] | None = None,
) -> StreetNetwork:
    """The patrol street graph of a twin folder (cached in-process; see the module docstring).

    Raises
    ------
    InputError
        The twin has no roads, or none of the classes / inside the bounds.
    """
    from twin_app.engines.patrol import street_graph_from_road_set
    from twin_app.errors import EngineError

    folder = twin_folder(twin_dir)
    key, city = twin_city(folder)
    key += f"|{streets}|{bounds}"
    with _LOCK:
        hit = _CACHE.get(key)
    if hit is not None:
        return hit
    roads = [s for s in city.sets if s.kind == "roads" and s.lines is not None]
    if not roads:
        raise InputError(f"{folder}: the twin has no roads for a patrol scenario")
    fs = roads[0]
    classes: Any = fs.table["class"].astype(str).to_numpy() if "class" in fs.table.columns else []
    try:
        graph, _ = street_graph_from_road_set(fs, exclude=_exclude(streets, classes))
    except EngineError as exc:
        raise InputError(f"{folder}: [patrol] streets {list(streets or [])}: {exc}") from None
    if bounds is None:
        # An OSM extract keeps whole ways, some running far out of the area (across the
        # river); the twin's streets are those within its buildings' extent.
        blds = building_sets(city)
        if blds:
            lo = np.min([s.mesh.points[:, :2].min(axis=0) for s in blds], axis=0)
            hi = np.max([s.mesh.points[:, :2].max(axis=0) for s in blds], axis=0)
            graph = _clip(graph, (float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])))
    else:
        graph = _clip(graph, bounds)
    net = StreetNetwork(graph, city.frame, f"{fs.name} of {folder.name}")
    with _LOCK:
        _CACHE[key] = net
    return net


def baseline_street_network(scenario: Scenario) -> StreetNetwork:
    """The street network of the scenario's twin (``twin`` must be set)."""
    if scenario.twin is None:
        raise InputError(
            f"{scenario.label}: key 'twin': a [patrol] study needs the twin folder whose "
            "streets the robots patrol"
        )
    sec = scenario.patrol or PatrolSection()
    return street_network_for_twin(scenario.twin, sec.streets, sec.bounds)


def tour_key(scenario: Scenario) -> str:
    """Cache key of a postman tour: the twin and the streets selected."""
    sec = scenario.patrol or PatrolSection()
    return f"{scenario.twin}|{sec.streets}|{sec.bounds}"


def street_tour(net: StreetNetwork) -> Any:
    """The Chinese postman tour of every street (:func:`~twin_app.engines.patrol.postman_tour`)."""
    from twin_app.engines.patrol import postman_tour

    return postman_tour(net.graph)


def depot_nodes(net: StreetNetwork, fleet: PatrolFleet) -> Any:
    """Street nodes of the fleet's depots (each lon/lat to the nearest street node)."""
    g = net.graph
    used = np.unique(np.concatenate([g.tail, g.head]))
    xy = g.node_xy[used]
    if fleet.depots:
        ll = np.asarray(fleet.depots, np.float64)
        pts = net.frame.lonlat_to_local(ll[:, 0], ll[:, 1])[:, :2]
    else:
        pts = 0.5 * (xy.min(axis=0) + xy.max(axis=0))[None, :]
    d2 = ((xy[None, :, :] - pts[:, None, :]) ** 2).sum(axis=2)
    return np.unique(used[np.argmin(d2, axis=1)]).astype(np.int64)


def _hand_route(net: StreetNetwork, links: tuple[str, ...], depot: int) -> Any:
    from twin_app.engines.patrol import route_from_edges

    ids = net.graph.ids.astype(str)
    edges: list[int] = []
    for name in links:
        exact = np.flatnonzero(ids == name)
        hit = exact if exact.size else np.flatnonzero(np.char.startswith(ids, name + "#"))
        if not hit.size:
            raise ValueError(f"road {name!r} is not among the patrolled streets")
        edges += hit.tolist()
    return route_from_edges(net.graph, edges, depot)


def hand_routes(
    scenario: Scenario, net: StreetNetwork, fleet: PatrolFleet, depot: int
) -> list[Any]:
    """The fleet's hand-drawn routes from and to `depot`.

    Raises
    ------
    InputError
        A road is not among the patrolled streets (naming the route, in file order).
    """
    routes = []
    for i, links in enumerate(fleet.hand_routes):
        try:
            routes.append(_hand_route(net, links, depot))
        except ValueError as exc:
            raise InputError(f"{scenario.label}: patrol_route {i + 1}: {exc}") from None
    return routes


@dataclass(frozen=True, eq=False)
class PatrolPlan:
    """A fleet's routes and KPIs.

    Attributes
    ----------
    routes
        :class:`~twin_app.engines.patrol.Walk` per post (hand-drawn ones first).
    robots_per_slot
        Robots taking turns on each post.
    kpis
        ``{kpi: value}`` of :data:`PATROL_KPIS` but capex.
    depots
        Depot street nodes.
    """

    routes: list[Any]
    robots_per_slot: int
    kpis: dict[str, float]
    depots: Any
    fleet: PatrolFleet


def patrol_plan(
    scenario: Scenario,
    net: StreetNetwork,
    tour: Any,
    fleet: PatrolFleet,
    needed: float | None = None,
) -> PatrolPlan:
    """Routes of `fleet` over the streets and their KPIs (see the module docstring).

    ``needed`` reuses a ``robots_needed_for_target`` already computed for the same robot and
    depots (it does not depend on the robot count).
    """
    from twin_app.engines import patrol as pe

    sec = scenario.patrol or PatrolSection()
    ef = fleet.engine_fleet()
    m = pe.robots_per_post(ef)
    dep = depot_nodes(net, fleet)
    routes = hand_routes(scenario, net, fleet, int(dep[0]))
    tour_robots = fleet.robots - m * len(routes)
    if tour_robots < 0:
        raise InputError(
            f"{scenario.label}: {len(routes)} hand-drawn routes need {m * len(routes)} robots "
            f"({m} a post); the fleet has {fleet.robots}"
        )
    per_slot = m if fleet.robots >= m else fleet.robots
    k = min(tour_robots // per_slot, int(tour.walk.edge.size))
    if k >= 1:
        routes += pe.split_tour(net.graph, tour.walk, k, dep)
    visits = pe.simulate_patrol(net.graph, routes, ef, sec.horizon_h, robots_per_slot=per_slot)
    if needed is None:
        rn = pe.robots_needed_for_target(
            net.graph, tour.walk, ef, sec.target_revisit_min, dep, horizon_h=sec.horizon_h
        )
        needed = float(rn.robots) if rn.robots > 0 else math.inf
    kpis = {
        "street_coverage_pct": pe.street_coverage_pct(visits, sec.coverage_min),
        "worst_revisit_min": pe.worst_revisit_min(visits),
        "mean_response_min": pe.mean_response_min(
            net.graph,
            routes,
            ef,
            sec.horizon_h,
            step_min=RESPONSE_STEP_MIN,
            robots_per_slot=per_slot,
        ),
        "robots_needed_for_target": needed,
    }
    return PatrolPlan(routes, per_slot, kpis, dep, fleet)


def plan_warnings(plan: PatrolPlan, name: str) -> list[str]:
    """Robots left without a post, and posts not manned around the clock."""
    from twin_app.engines.patrol import robots_per_post

    used = plan.robots_per_slot * len(plan.routes)
    out = []
    if plan.fleet.robots > used:
        out.append(
            f"patrol {name}: {plan.fleet.robots - used} of {plan.fleet.robots} robots have no "
            f"post ({plan.robots_per_slot} robots a post)"
        )
    m = robots_per_post(plan.fleet.engine_fleet())
    if plan.robots_per_slot < m:
        out.append(
            f"patrol {name}: {plan.fleet.robots} robots cannot keep a post manned around the "
            f"clock ({m} needed)"
        )
    return out


def same_robot(a: PatrolFleet, b: PatrolFleet) -> bool:
    """Whether ``robots_needed_for_target`` of `a` holds for `b` (same robot and depots)."""
    return (a.speed_m_s, a.run_h, a.charge_h, a.depots) == (
        b.speed_m_s,
        b.run_h,
        b.charge_h,
        b.depots,
    )


def routes_extra(net: StreetNetwork, plan: PatrolPlan) -> list[dict[str, Any]]:
    """Each route as ``{"edges": [edge ids], "xy": (n, 2) node polyline, "length_m"}``."""
    g = net.graph
    return [
        {
            "edges": [str(v) for v in g.ids[r.edge]],
            "xy": g.node_xy[r.nodes],
            "length_m": r.length_m,
        }
        for r in plan.routes
    ]


def positions_extra(net: StreetNetwork, plan: PatrolPlan, horizon_h: float) -> dict[str, Any]:
    """Slot positions every minute over the horizon: ``times_s``, ``xy`` (t, slot, 2),
    ``running`` (t, slot) (:func:`twin_app.engines.patrol.robot_positions`)."""
    from twin_app.engines.patrol import robot_positions

    t = np.arange(0.0, horizon_h * 3600.0 + 0.5, POSITION_STEP_S)
    if not plan.routes:
        return {
            "times_s": t,
            "xy": np.zeros((t.size, 0, 2)),
            "running": np.zeros((t.size, 0), bool),
        }
    _, _, running, xy = robot_positions(
        net.graph, plan.routes, plan.fleet.engine_fleet(), t, robots_per_slot=plan.robots_per_slot
    )
    return {"times_s": t, "xy": xy, "running": running}


def capex(scenario: Scenario, fleet: PatrolFleet) -> tuple[float, str]:
    """Robots added times the unit cost, and the currency."""
    sec = scenario.patrol or PatrolSection()
    return float(fleet.added) * sec.robot_unit_cost, sec.currency
