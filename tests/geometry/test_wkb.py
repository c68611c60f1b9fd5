"""WKB -> ragged arrays without shapely: identical to shapely's, or None when unsupported."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from shapely.geometry import MultiPolygon, Polygon

from twin_app.geometry.extrude import orient_rings, polygon_arrays
from twin_app.geometry.wkb import concat, polygons_from_wkb, subset

HOLED = Polygon([(0, 0), (30, 0), (30, 30), (0, 30)], [[(10, 10), (20, 10), (20, 20), (10, 20)]])
MULTI = MultiPolygon([Polygon([(0, 0), (5, 0), (5, 5)]), HOLED])
L_SHAPE = Polygon([(0, 0), (20, 0), (20, 8), (8, 8), (8, 20), (0, 20)])


def _blobs(geoms: list[object], **kw: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    wkb = [shapely.to_wkb(g, **kw) for g in geoms]
    sizes = np.array([len(b) for b in wkb], np.int64)
    offs = np.zeros(len(wkb) + 1, np.int64)
    np.cumsum(sizes, out=offs[1:])
    return np.frombuffer(b"".join(wkb), np.uint8), offs[:-1], offs[1:]


def test_matches_shapely_ragged_arrays() -> None:
    geoms = [HOLED, MULTI, L_SHAPE, shapely.affinity.translate(MULTI, 1e5, 4e5)]
    arr = polygons_from_wkb(*_blobs(geoms))
    assert arr is not None
    ref = polygon_arrays(np.array(geoms, dtype=object))
    got = orient_rings(arr)
    for a, b in (
        (got.ring_offsets, ref.ring_offsets),
        (got.poly_offsets, ref.poly_offsets),
        (got.geom_offsets, ref.geom_offsets),
    ):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(got.coords, ref.coords)


def test_unsupported_encodings_return_none() -> None:
    assert polygons_from_wkb(*_blobs([HOLED], byte_order=0)) is None  # big-endian
    assert polygons_from_wkb(*_blobs([shapely.force_3d(HOLED, 5.0)])) is None  # 3D
    assert polygons_from_wkb(*_blobs([shapely.Point(1, 2)])) is None


def test_subset_and_concat_keep_features_intact() -> None:
    arr = polygons_from_wkb(*_blobs([HOLED, MULTI, L_SHAPE]))
    assert arr is not None
    keep = np.array([True, False, True])
    sub = subset(arr, keep)
    ref = polygon_arrays(np.array([HOLED, L_SHAPE], dtype=object))
    np.testing.assert_array_equal(orient_rings(sub).coords, ref.coords)
    both = concat([sub, polygon_arrays(np.array([MULTI], dtype=object))])
    assert both.n_geoms == 3
    assert np.diff(both.geom_offsets).tolist() == [1, 1, 2]
    assert both.ring_offsets[-1] == both.coords.shape[0]


@pytest.mark.parametrize("n", [1, 50])
def test_random_polygons_round_trip(n: int) -> None:
    rng = np.random.default_rng(n)
    geoms = [
        shapely.convex_hull(shapely.multipoints(rng.uniform(0, 100, (12, 2)))) for _ in range(n)
    ]
    arr = polygons_from_wkb(*_blobs(geoms))
    assert arr is not None
    np.testing.assert_allclose(
        orient_rings(arr).coords, polygon_arrays(np.array(geoms, dtype=object)).coords
    )
