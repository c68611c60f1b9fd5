"""Indoor 5G coverage floor by floor in the compare view (issue 9, "5G coverage").

A radio result with indoor receptors (``radio_floors_baseline`` / ``radio_floors_scenario``,
:class:`~twin_app.scenarios.radio.RadioFloors`) is drawn as one layer of floor slabs per side
(the study's slab mesh: every floor of every building in the area, a prism a little outside
its building's walls, with a floor line under each ceiling). One table row per floor (``id``
``<building> floor <k>``, ``building``, ``floor``, ``bottom_m``, ``top_m``, ``rsrp_dbm`` and on
the scenario side ``rsrp_dbm_delta``), so picking a slab names its floor. The baseline side is
coloured by the floor's RSRP class (:data:`twin_app.model.style.RSRP_CLASSES`); the scenario
side by the change (scenario minus baseline of the same building's same floor; NaN for a floor
the baseline does not have) or, in value view, by its RSRP class. The layers are the sides'
extras under :data:`FLOORS_KEY`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from twin_app.model.city import FeatureSet
from twin_app.model.layers import FeatureLayer
from twin_app.model.style import ColorScale, column_scale

if TYPE_CHECKING:
    import pandas as pd

    from twin_app.scenarios.radio import RadioFloors
    from twin_app.session.compare import Comparison

F64 = np.ndarray[Any, np.dtype[np.float64]]

#: The sides' extras key of the floor layers.
FLOORS_KEY = "radio_floors"
#: Value and change columns of the floor tables.
VALUE_COLUMN = "rsrp_dbm"
DELTA_COLUMN = "rsrp_dbm_delta"
#: RSRP drawn for a floor no station reaches (-inf in the study): the bottom class.
NO_SIGNAL_DBM = -150.0


def floor_values(floors: RadioFloors) -> F64:
    """(f,) the floors' RSRP, dBm, -inf (no station) as :data:`NO_SIGNAL_DBM`."""
    v = np.asarray(floors.rsrp_dbm, np.float64).copy()
    v[np.isneginf(v)] = NO_SIGNAL_DBM
    return v


def floor_keys(floors: RadioFloors, building_ids: Any) -> Any:
    """(f,) ``<building id> floor <k>`` of every floor (object array)."""
    bid = np.asarray(building_ids).astype(str)[np.asarray(floors.building, np.int64)]
    return np.char.add(np.char.add(bid, " floor "), np.asarray(floors.floor).astype(str)).astype(
        object
    )


def floor_delta(base: RadioFloors, scen: RadioFloors, base_ids: Any, scen_ids: Any) -> F64:
    """(f_scen,) scenario minus baseline RSRP of the same building's same floor, dB (NaN where
    the baseline has no such floor: an added or raised building)."""
    import pandas as pd

    at = pd.Index(floor_keys(base, base_ids)).get_indexer(pd.Index(floor_keys(scen, scen_ids)))
    b = floor_values(base)
    s = floor_values(scen)
    out = np.full(s.size, np.nan)
    hit = at >= 0
    out[hit] = s[hit] - b[at[hit]]
    return out


def floor_table(floors: RadioFloors, building_ids: Any) -> pd.DataFrame:
    """One row per floor: ``id``, ``building``, ``floor``, ``bottom_m``, ``top_m``,
    ``rsrp_dbm``."""
    import pandas as pd

    return pd.DataFrame(
        {
            "id": floor_keys(floors, building_ids),
            "building": np.asarray(building_ids).astype(str)[np.asarray(floors.building)],
            "floor": np.asarray(floors.floor, np.int64),
            "bottom_m": np.asarray(floors.bottom_m, np.float64),
            "top_m": np.asarray(floors.top_m, np.float64),
            VALUE_COLUMN: floor_values(floors),
        }
    )


def floor_layer(
    floors: RadioFloors, building_ids: Any, name: str, delta: F64 | None = None
) -> FeatureLayer:
    """A layer of the floors' slabs over their table (with the change column when given),
    coloured by RSRP class."""
    table = floor_table(floors, building_ids)
    if delta is not None:
        table[DELTA_COLUMN] = delta
    fs = FeatureSet(name, "objects", "scenario", table["id"].to_numpy(object), table, floors.mesh)
    return FeatureLayer(name=name, features=fs, color_by=VALUE_COLUMN)


def show_floors(cmp: Comparison, extra: dict[str, Any]) -> bool:
    """Draw the result's floors on both sides (see the module notes); False (and nothing
    drawn) when a side has no floors."""
    base = extra.get("radio_floors_baseline")
    scen = extra.get("radio_floors_scenario")
    if base is None or scen is None or base.n_floors == 0 or scen.n_floors == 0:
        cmp.set_extras(FLOORS_KEY, [], [])
        return False
    b_ids = extra["radio_building_ids_baseline"]
    s_ids = extra["radio_building_ids_scenario"]
    left = floor_layer(base, b_ids, "Indoor coverage by floor (Baseline)")
    right = floor_layer(
        scen, s_ids, f"Indoor coverage by floor ({cmp.name})", floor_delta(base, scen, b_ids, s_ids)
    )
    cmp.set_extras(FLOORS_KEY, [left], [right])
    apply_show(cmp)
    return True


def apply_show(cmp: Comparison) -> None:
    """Colour the scenario side's floors by change or by value (``cmp.show``); the baseline
    side's by value."""
    for side, column in (
        (cmp.baseline, VALUE_COLUMN),
        (cmp.scenario, VALUE_COLUMN if cmp.show == "value" else DELTA_COLUMN),
    ):
        for layer in side.extras.get(FLOORS_KEY, []):
            if not isinstance(layer, FeatureLayer):
                continue
            scale = column_scale(column)
            with layer.events.blocked():
                if isinstance(scale, ColorScale):
                    layer.colormap = scale.colormap
                layer.clim = None
                layer.color_by = column
            layer.events.color_by.emit(layer.color_by, layer.color_by)
