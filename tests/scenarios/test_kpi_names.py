"""KPI names stay unique when two parts name a KPI alike (patrol and radio both have capex)."""

from __future__ import annotations

from twin_app.scenarios.model import Kpi
from twin_app.scenarios.run import _unique_names


def test_shared_name_gets_part_prefix_others_unchanged() -> None:
    kpis = [
        Kpi("street_coverage_pct", 1.0, 2.0, "%"),
        Kpi("capex", 0.0, 3e6, "RMB"),
        Kpi("area_covered_pct", 50.0, 60.0, "%"),
        Kpi("capex", 0.0, 7e5, "RMB"),
    ]
    out = _unique_names(kpis, [("patrol", 0), ("radio", 2)])
    assert [k.name for k in out] == [
        "street_coverage_pct",
        "patrol_capex",
        "area_covered_pct",
        "radio_capex",
    ]
    assert [(k.baseline, k.scenario, k.unit) for k in out] == [
        (k.baseline, k.scenario, k.unit) for k in kpis
    ]


def test_single_part_names_untouched() -> None:
    kpis = [Kpi("capex", 0.0, 7e5, "RMB")]
    assert _unique_names(kpis, [("radio", 0)]) == kpis
