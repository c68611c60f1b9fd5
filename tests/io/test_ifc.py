"""IFC reading: element counts against a direct ifcopenshell count, arrays, placement."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from twin_app.io.load import load_city
from twin_app.model.bim import IFC_CLASSES, IfcInfo
from twin_app.model.city import IFC

IFC_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "ifc"
if not IFC_DIR.exists():
    IFC_DIR = Path("/work/shared/data/ifc")
HOUSE = IFC_DIR / "IfcOpenHouse_IFC4.ifc"

pytestmark = pytest.mark.skipif(not HOUSE.exists(), reason="shared IFC files absent")


def direct_counts(path: Path) -> Counter[str]:
    """Products with a 3D body representation by class, counted with ifcopenshell alone."""
    import ifcopenshell

    f = ifcopenshell.open(str(path))
    out: Counter[str] = Counter()
    for p in f.by_type("IfcProduct"):
        if p.is_a("IfcOpeningElement") or p.Representation is None:
            continue
        ids = {r.RepresentationIdentifier for r in p.Representation.Representations}
        if ids & {"Body", "Facetation"}:
            out[p.is_a()] += 1
    return out


def test_house_loads_as_one_ifc_layer_with_the_contract_arrays() -> None:
    res = load_city([HOUSE])
    (fs,) = res.city.sets
    assert fs.kind == IFC
    info = fs.meta
    assert isinstance(info, IfcInfo)
    assert info.schema.startswith("IFC4")
    want = direct_counts(HOUSE)
    missing = Counter(line.split()[1] for line in info.missing)
    assert dict(info.class_counts) == {c: n - missing[c] for c, n in want.items() if n > missing[c]}
    assert fs.n_features == sum(info.class_counts.values())
    cd = fs.mesh.cell_data
    assert cd["element_index"].dtype == np.int32
    assert cd["ifc_class_code"].dtype == np.int16
    assert cd["storey_index"].dtype == np.int16
    assert cd["rgb"].dtype == np.uint8 and cd["rgb"].shape == (fs.mesh.n_triangles, 3)
    assert fs.mesh.n_triangles > 500
    # every element has triangles; class codes agree with the table
    assert set(np.unique(cd["element_index"])) == set(range(fs.n_features))
    cls = fs.table["ifc_class"].to_numpy()[cd["element_index"]]
    code = cd["ifc_class_code"]
    known = code >= 0
    assert (np.array(IFC_CLASSES, dtype=object)[code[known]] == cls[known]).all()
    for col in (
        "name",
        "ifc_class",
        "storey",
        "storey_index",
        "storey_elevation_m",
        "material",
        "color",
        "psets",
        "predefined_type",
    ):
        assert col in fs.table.columns
    assert list(fs.ids) == list(fs.table["id"])
    elev = [s.elevation_m for s in info.storeys]
    assert elev == sorted(elev)
