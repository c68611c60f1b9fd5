"""Feature search and the selection table on 100,000 features: the timing claims of the tests.

    python benchmarks/bench_search.py [--json]

The tests assert what these operations do (and that the table model is asked only for the rows
in view); how long they take on this machine is measured here. Reported: search_numeric_ms
(``height_m>79`` over 100,000 buildings), search_text_ms (``office``), target under 2,000 ms
together, and, when PySide6 can start (Xvfb or a display), table_populate_ms and table_sort_ms
(a selection of 10,500 rows shown and sorted in the selection table), target under 500 ms each.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import pandas as pd
from _common import emit, timed

from twin_app.model.city import BUILDINGS, FeatureSet
from twin_app.model.layers import FeatureLayer, Layer
from twin_app.model.mesh import TriMesh
from twin_app.model.search import find_features


def big_layer(n: int = 100_000) -> list[Layer]:
    """``n`` buildings with an id, a height, a use and a level count (no geometry)."""
    rng = np.random.default_rng(0)
    table = pd.DataFrame(
        {
            "id": np.array([f"bag.{i:07d}" for i in range(n)], dtype=object),
            "height_m": rng.uniform(2, 80, n).round(1),
            "use": rng.choice(["residential", "office", "retail", None], n),
            "levels": rng.integers(1, 20, n),
        }
    )
    fs = FeatureSet("Big", BUILDINGS, "t", table["id"].to_numpy(object), table, TriMesh.empty())
    return [FeatureLayer(name="Big", features=fs)]


def table_figures() -> dict[str, float]:
    """Populate and sort times of the selection table (needs a display: Xvfb is fine)."""
    import sys
    from pathlib import Path

    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "ui"))
    from test_selection_table import _session  # the tests' 12,000-building grid

    from twin_app.ui.selection_table import QtSelectionTable

    app = QApplication.instance() or QApplication([])
    s = _session(12_000)
    w = QtSelectionTable(s)
    w.resize(800, 500)
    w.show()
    app.processEvents()
    t0 = time.perf_counter()
    s.select_features(s.layers[0], np.arange(10_500))
    w.view.viewport().repaint()
    populate = time.perf_counter() - t0
    t0 = time.perf_counter()
    w.view.sortByColumn(w.columns().index("height_m"), Qt.SortOrder.DescendingOrder)
    w.view.viewport().repaint()
    sort = time.perf_counter() - t0
    w.close()
    return {"table_populate_ms": 1000 * populate, "table_sort_ms": 1000 * sort}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-table", action="store_true", help="skip the Qt selection table")
    args = ap.parse_args()
    layers = big_layer()
    numeric_s, _ = timed(lambda: find_features(layers, "height_m>79"), repeat=3)
    text_s, _ = timed(lambda: find_features(layers, "office"), repeat=3)
    result: dict[str, Any] = {
        "features": 100_000,
        "search_numeric_ms": 1000 * numeric_s,
        "search_text_ms": 1000 * text_s,
    }
    if not args.no_table:
        result.update(table_figures())
    emit(result, args.json)


if __name__ == "__main__":
    main()
