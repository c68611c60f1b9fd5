"""An IFC layer in pixels: class colours, storeys hidden, section, explode, spaces translucent."""

from __future__ import annotations

from typing import Any

import numpy as np

from tests.ifc_fixtures import ELEVATIONS, HY, ifc_house
from twin_app.model.layers import IfcLayer, layer_for
from twin_app.model.style import IFC_CLASS_COLORS, hex_to_rgb
from twin_app.render.adapters import IfcAdapter
from twin_app.render.registry import adapter_class
from twin_app.render.scene import Scene

ROOF = IFC_CLASS_COLORS["IfcRoof"]
SLAB = IFC_CLASS_COLORS["IfcSlab"]
SPACE = IFC_CLASS_COLORS["IfcSpace"]
WINDOW = IFC_CLASS_COLORS["IfcWindow"]


def _chroma(rgb: Any) -> np.ndarray:
    v = np.asarray(rgb[:3], np.float64)
    return v / max(v.sum(), 1.0)


def _nearest(rgb: Any, colours: dict[str, str]) -> str:
    """The named colour whose hue/chroma is nearest to a (lit) pixel's."""
    c = _chroma(rgb)
    return min(
        colours,
        key=lambda k: float(np.linalg.norm(c - _chroma(np.array(hex_to_rgb(colours[k])) * 255))),
    )


def _top(scene: Scene) -> None:
    cam = scene.plotter.camera
    cam.SetFocalPoint(0.0, 0.0, 0.0)
    cam.SetPosition(0.0, 0.0, 80.0)
    cam.SetViewUp(0.0, 1.0, 0.0)
    cam.SetViewAngle(20.0)
    scene.plotter.renderer.ResetCameraClippingRange()


def _south(scene: Scene) -> None:
    cam = scene.plotter.camera
    cam.SetFocalPoint(0.0, 0.0, 3.0)
    cam.SetPosition(0.0, -60.0, 3.0)
    cam.SetViewUp(0.0, 0.0, 1.0)
    cam.SetViewAngle(20.0)
    scene.plotter.renderer.ResetCameraClippingRange()


def _setup(scene: Scene) -> tuple[IfcLayer, IfcAdapter]:
    layer = layer_for(ifc_house())
    assert isinstance(layer, IfcLayer)
    assert adapter_class(layer) is IfcAdapter
    adapter = scene.add_layer(layer)
    assert isinstance(adapter, IfcAdapter)
    scene.show_legends = False
    scene.legends_changed()
    return layer, adapter


COLOURS = {"roof": ROOF, "slab": SLAB, "space": SPACE, "window": WINDOW, "sky": "#bcd0e6"}


def test_class_colours_and_legend(scene: Scene, pixel_at: Any) -> None:
    _, adapter = _setup(scene)
    _top(scene)
    assert _nearest(pixel_at(scene, (0.0, 0.0, 6.5)), COLOURS) == "roof"
    _south(scene)
    assert _nearest(pixel_at(scene, (0.0, -HY - 0.05, 1.5)), COLOURS) == "window"
    kind, entries = adapter.legend()  # type: ignore[misc]
    assert kind == "categories"
    assert dict(entries)["IfcRoof"] == ROOF
    assert "IfcSpace" not in dict(entries)  # spaces hidden by default
    # one actor for the elements: the spaces' actor draws nothing while they are hidden
    assert adapter.space_actor is not None and not adapter.space_actor.GetVisibility()


def test_hidden_storey_pixels_go(scene: Scene, pixel_at: Any) -> None:
    layer, adapter = _setup(scene)
    _top(scene)
    mesh_before = adapter.mesh
    layer.hidden_storeys = frozenset({1})
    # The roof and the first floor's slab are gone: the ground floor's slab shows.
    assert _nearest(pixel_at(scene, (0.0, 0.0, 0.0)), COLOURS) == "slab"
    assert adapter.mesh is not mesh_before and adapter.mesh is not None
    assert set(np.unique(np.asarray(layer.features.mesh.cell_data["storey_index"]))) == {0, 1}  # type: ignore[union-attr]
    drawn_rows = set(np.unique(adapter.index).tolist())
    assert drawn_rows == {0, 1, 2}  # slab, walls and window of storey 0 (spaces hidden)
    layer.hidden_storeys = frozenset()
    _top(scene)
    assert _nearest(pixel_at(scene, (0.0, 0.0, 6.5)), COLOURS) == "roof"


def test_section_cuts_at_the_next_storey(scene: Scene, pixel_at: Any) -> None:
    layer, adapter = _setup(scene)
    layer.section_storey = 0
    _top(scene)
    assert _nearest(pixel_at(scene, (0.0, 0.0, 0.0)), COLOURS) == "slab"
    assert set(np.unique(adapter.index).tolist()) == {0, 1, 2}
    assert adapter.actor is not None
    planes = adapter.actor.GetMapper().GetClippingPlanes()
    assert planes.GetNumberOfItems() == 1
    assert planes.GetItem(0).GetOrigin()[2] == ELEVATIONS[1] - 0.2  # the first floor's slab
    layer.section_storey = 1
    _top(scene)  # the clipping range was fitted to the cut house
    assert _nearest(pixel_at(scene, (0.0, 0.0, 6.5)), COLOURS) == "roof"


def test_spaces_are_translucent(scene: Scene, pixel_at: Any) -> None:
    layer, adapter = _setup(scene)
    layer.section_storey = 0
    _top(scene)
    slab = pixel_at(scene, (0.0, 0.0, 0.0))
    layer.show_spaces = True
    assert adapter.space_actor is not None and adapter.space_actor.GetVisibility()
    assert 0.0 < adapter.space_actor.GetProperty().GetOpacity() < 1.0
    blended = pixel_at(scene, (0.0, 0.0, 0.0))
    # Yellow over grey: more yellow than the slab alone (b falls against r), yet not opaque.
    assert not np.array_equal(blended, slab)
    c_slab, c_blend, c_space = (
        _chroma(slab),
        _chroma(blended),
        _chroma(np.array(hex_to_rgb(SPACE)) * 255),
    )
    assert c_blend[2] < c_slab[2] - 0.02
    assert c_blend[2] > c_space[2] + 0.02
    _, entries = adapter.legend()  # type: ignore[misc]
    assert dict(entries)["IfcSpace"] == SPACE


def test_explode_lifts_storeys_without_meshing(scene: Scene, pixel_at: Any) -> None:
    layer, adapter = _setup(scene)
    assert adapter.mesh is not None
    top_before = adapter.mesh.bounds[5]
    layer.explode = 4.0
    assert adapter.mesh.bounds[5] == np.float32(top_before + 4.0)
    _south(scene)
    # A gap between the storeys: at z = 3.1 + 2 m the sky shows through where the slab was.
    gap_z = ELEVATIONS[1] + 2.0
    assert _nearest(pixel_at(scene, (0.0, -HY, gap_z)), COLOURS) == "sky"
    layer.explode = 0.0
    assert _nearest(pixel_at(scene, (0.0, -HY, gap_z)), COLOURS) != "sky"


def test_material_colours(scene: Scene, pixel_at: Any) -> None:
    layer, adapter = _setup(scene)
    layer.color_by = "material"
    _south(scene)
    # the file's window colour (40, 90, 200), not the class colour
    px = pixel_at(scene, (0.0, -HY - 0.05, 1.5))
    assert _nearest(px, {"file": "#285ac8", "class": WINDOW}) == "file"
    # and the legend lists the file's materials with their colours (it was empty)
    kind, entries = adapter.legend()  # type: ignore[misc]
    assert kind == "categories" and entries == layer.material_legend() != []
    assert layer.features is not None
    table = layer.features.table
    pairs = set(zip(table["material"].astype(str), table["color"].astype(str), strict=True))
    for material, colour in entries:
        assert (material, colour) in pairs or (
            material == "(no material)" and ("", colour) in pairs
        )


def test_pick_returns_the_element_row(scene: Scene) -> None:
    from twin_app.render.picking import Picker

    layer, _ = _setup(scene)
    _south(scene)
    scene.screenshot()
    r = scene.plotter.renderer
    r.SetWorldPoint(0.0, -HY - 0.05, 1.5, 1.0)
    r.WorldToDisplay()
    x, y, _ = r.GetDisplayPoint()
    hit = Picker(scene).pick(round(x), round(y))
    assert hit is not None and hit.layer_uid == layer.uid
    assert layer.features is not None
    assert layer.features.table["ifc_class"].iat[hit.feature_index] == "IfcWindow"


def test_replaced_building_disappears_from_the_view(scene: Scene, pixel_at: Any) -> None:
    from tests.session.test_ifc_verbs import city_blocks
    from twin_app.session import Session

    session = Session()
    blocks = layer_for(city_blocks())
    house = layer_for(ifc_house(30.0, 0.0, "proposal.ifc"))
    assert isinstance(house, IfcLayer)
    session.layers.extend([blocks, house])
    scene.add_layer(blocks)
    scene.add_layer(house)
    scene.show_legends = False
    scene.legends_changed()
    cam = scene.plotter.camera
    cam.SetFocalPoint(30.0, 0.0, 0.0)
    cam.SetPosition(30.0, 0.0, 150.0)
    cam.SetViewUp(0.0, 1.0, 0.0)
    cam.SetViewAngle(30.0)
    scene.plotter.renderer.ResetCameraClippingRange()
    corner = (38.0, 8.0, 20.0)  # the block's roof, beside the house
    roof_px = pixel_at(scene, corner)
    assert session.replace_buildings_under(house) == 1
    gone = pixel_at(scene, corner)
    assert not np.array_equal(roof_px, gone)
    assert _nearest(pixel_at(scene, (30.0, 0.0, 6.5)), COLOURS) == "roof"  # the house shows
    assert (
        blocks.features is not None
        and blocks.features.table["replaced_by"].iat[1] == "proposal.ifc"
    )
    session.commands.undo()
    assert np.array_equal(pixel_at(scene, corner), roof_px)


def test_section_and_underground_views_share_the_clipping_planes(scene: Scene) -> None:
    layer, adapter = _setup(scene)
    layer.section_storey = 0
    assert adapter.actor is not None
    mapper = adapter.actor.GetMapper()
    assert mapper.GetClippingPlanes().GetNumberOfItems() == 1
    scene.set_underground("cutaway")  # the section stays, the cutaway's plane joins it
    assert mapper.GetClippingPlanes().GetNumberOfItems() == 2
    layer.section_storey = None
    assert mapper.GetClippingPlanes().GetNumberOfItems() == 1
    scene.set_underground("translucent")  # faded like the other surface layers
    assert adapter.actor.GetProperty().GetOpacity() < 0.5
    assert mapper.GetClippingPlanes().GetNumberOfItems() == 0
    scene.set_underground("off")
    assert adapter.actor.GetProperty().GetOpacity() == 1.0
