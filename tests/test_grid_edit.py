"""Grid editing (网格编辑): the partition check guards every save; saved changes are audited."""
from __future__ import annotations

import json

import numpy as np
import pytest
import shapely
from shapely.geometry import box, mapping
from sqlalchemy import text

from lib import auth, demo, geo, maps
from lib.db import make_engine
from lib.grids import area_m2, from_geojson


@pytest.fixture()
def small(fresh_url):
    """A writable demo province of 600 customers (30 stations, one grid each)."""
    eng = make_engine(fresh_url)
    demo.generate(eng, seed=5, customers=600, months=2, end_month="2026-10")
    yield eng
    eng.dispose()


def _neighbours(engine):
    """Return (district path, grid a, grid b) for two grids of one district sharing a border."""
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, org_path, geometry FROM grid ORDER BY id")).all()
    by_district: dict[str, list] = {}
    for gid, path, geom in rows:
        by_district.setdefault(path.rsplit("/", 2)[0] + "/", []).append((gid, from_geojson(geom)))
    for district, grids in by_district.items():
        for i, (ga, a) in enumerate(grids):
            for gb, b in grids[i + 1:]:
                if a.intersection(b).length > 0.002:  # a real shared edge, not a corner
                    return district, ga, a, gb, b
    raise AssertionError("no neighbouring grids in the demo")


ADMIN = auth.SessionUser(1, "admin", "省公司管理员", "province_admin", "/37/")


def _boss(district: str) -> auth.SessionUser:
    return auth.SessionUser(2, "district_boss", "片区经理", "district_manager", district)


def _audit_rows(engine):
    with engine.connect() as conn:
        return conn.execute(text("SELECT actor, action, entity, entity_id, before, after, org_path FROM audit_log "
                                 "WHERE entity = 'grid' ORDER BY id")).mappings().all()


def _stored(engine, gid):
    with engine.connect() as conn:
        return conn.execute(text("SELECT geometry, area_km2 FROM grid WHERE id = :i"), {"i": gid}).one()


def test_change_that_creates_an_overlap_is_refused_and_nothing_is_written(small):
    district, ga, a, gb, b = _neighbours(small)
    grown = a.union(b.buffer(-0.0005).intersection(a.buffer(0.003)))  # push A into B
    before = _stored(small, ga)
    with pytest.raises(maps.editing.GridChangeRefused) as err:
        maps.editing.save_grid_geometries(small, ADMIN, district, {ga: grown})
    report = err.value.report
    assert report is not None and not report.ok and report.overlaps
    with small.connect() as conn:
        codes = conn.execute(text("SELECT code FROM grid WHERE id IN (:a, :b) ORDER BY code"), {"a": ga, "b": gb}).scalars().all()
    assert tuple(codes) in {p[:2] for p in report.overlaps}
    assert "overlap" in str(err.value)
    assert _stored(small, ga) == before
    assert _audit_rows(small) == []


def test_change_that_leaves_a_gap_is_refused(small):
    district, ga, a, gb, b = _neighbours(small)
    shrunk = a.difference(a.intersection(b).buffer(0.001))
    with pytest.raises(maps.editing.GridChangeRefused) as err:
        maps.editing.save_grid_geometries(small, ADMIN, district, {ga: shrunk})
    assert err.value.report.gaps and not err.value.report.overlaps
    assert _audit_rows(small) == []


def test_valid_reshape_of_two_neighbours_is_saved_and_audited(small):
    district, ga, a, gb, b = _neighbours(small)
    # move the shared border: A takes a strip of B along their common edge, B gives it up
    strip = b.intersection(a.intersection(b).buffer(0.002))
    new_a = shapely.union(a, strip, grid_size=1e-9)
    new_b = maps.rebalance(a, new_a, b)
    assert area_m2(strip) > 10_000
    report = maps.editing.save_grid_geometries(small, _boss(district), district, {ga: new_a, gb: new_b})
    assert report.ok
    geom_a, area_a = _stored(small, ga)
    assert from_geojson(geom_a).equals_exact(new_a, 1e-12)
    assert area_a == pytest.approx(area_m2(new_a) / 1e6, abs=1e-3)
    rows = _audit_rows(small)
    assert [(r["actor"], r["action"], r["entity_id"]) for r in rows] == [
        ("district_boss", "grid.reshape", str(ga)), ("district_boss", "grid.reshape", str(gb))]
    before, after = json.loads(rows[0]["before"]), json.loads(rows[0]["after"])
    assert from_geojson(before["geometry"]).equals_exact(a, 1e-12)
    assert from_geojson(after["geometry"]).equals_exact(new_a, 1e-12)
    assert rows[0]["org_path"].startswith(district)
    # the district is still a partition, and the history lists both changes
    reports = maps.data.partition_reports(small, district)
    assert reports[district].ok
    assert len(maps.editing.grid_history(small, "/37/", district)) == 2
    # customers of the strip now lie in A's shape but are still assigned to B: reported
    moved = maps.data.grid_membership(small, district)
    assert moved.empty  # membership looks at geometry only: every customer is in exactly one grid


def test_editing_outside_the_scope_is_refused(small):
    district, ga, a, gb, b = _neighbours(small)
    with small.connect() as conn:
        other_city = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' AND :d NOT LIKE path || '%' "
                                       "ORDER BY path LIMIT 1"), {"d": district}).scalar_one()
    with pytest.raises(PermissionError, match="grids.edit"):
        maps.editing.save_grid_geometries(small, auth.SessionUser(9, "x", "x", "city_manager", other_city),
                                          district, {ga: a})
    with pytest.raises(ValueError):  # a scope that holds no grid of the district
        maps.editing.check_change(small, district + "999999999/", district, {ga: a})


def test_invalid_geometry_names_the_grid(small):
    from shapely.geometry import Polygon

    district, ga, a, gb, b = _neighbours(small)
    x0, y0, x1, y1 = a.bounds
    bow = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    with pytest.raises(ValueError, match="invalid geometry"):
        maps.editing.save_grid_geometries(small, ADMIN, district, {ga: bow})


def test_customer_outside_every_grid_and_in_two_grids_are_listed(small):
    district, ga, a, gb, b = _neighbours(small)
    with small.connect() as conn:
        boundary = from_geojson(conn.execute(text("SELECT boundary FROM org_unit WHERE path = :p"),
                                             {"p": district}).scalar_one())
    outside = shapely.Point(boundary.bounds[0] - 0.05, boundary.bounds[1] - 0.05)
    inside_a = a.representative_point()
    on_border = a.intersection(b).interpolate(0.5, normalized=True)
    # a hair (≈ 1 cm) towards A: a point computed on a shared edge of real, ragged grids may land a few
    # 1e-15° inside B, and "strictly inside the grown A only" is what this point is for
    towards = a.representative_point()
    step = 1e-7 / max(on_border.distance(towards), 1e-12)
    on_border = shapely.Point(on_border.x + (towards.x - on_border.x) * step, on_border.y + (towards.y - on_border.y) * step)
    with small.begin() as conn:
        ids = conn.execute(text("SELECT id FROM customer WHERE org_path LIKE :d ORDER BY id LIMIT 3"),
                           {"d": district + "%"}).scalars().all()
        for cid, p in zip(ids, (outside, inside_a, on_border)):
            conn.execute(text("UPDATE customer SET lon = :x, lat = :y WHERE id = :i"), {"x": p.x, "y": p.y, "i": cid})
        # make A overlap B so that a point can be inside two grids
        conn.execute(text("UPDATE grid SET geometry = :g WHERE id = :i"),
                     {"g": json.dumps(mapping(a.union(b.intersection(a.buffer(0.003))))), "i": ga})
        codes = conn.execute(text("SELECT code FROM customer WHERE id IN (:a, :b, :c) ORDER BY id"),
                             {"a": ids[0], "b": ids[1], "c": ids[2]}).scalars().all()
    listed = maps.data.grid_membership(small, district)
    flagged = dict(zip(listed["code"], listed["grids_containing"]))
    assert flagged.get(codes[0]) == 0  # outside every grid
    assert codes[1] not in flagged  # strictly inside A only
    assert codes[2] not in flagged  # on B's edge, strictly inside the grown A only
    overlap_pts = b.intersection(a.buffer(0.003)).representative_point()
    with small.begin() as conn:
        conn.execute(text("UPDATE customer SET lon = :x, lat = :y WHERE id = :i"),
                     {"x": overlap_pts.x, "y": overlap_pts.y, "i": ids[1]})
    listed = maps.data.grid_membership(small, district)
    assert dict(zip(listed["code"], listed["grids_containing"])).get(codes[1]) == 2


def test_customer_on_a_shared_border_is_not_outside(small):
    district, ga, a, gb, b = _neighbours(small)
    on_border = a.intersection(b).interpolate(0.5, normalized=True)
    # a hair (≈ 1 cm) towards A: a point computed on a shared edge of real, ragged grids may land a few
    # 1e-15° inside B, and "strictly inside the grown A only" is what this point is for
    towards = a.representative_point()
    step = 1e-7 / max(on_border.distance(towards), 1e-12)
    on_border = shapely.Point(on_border.x + (towards.x - on_border.x) * step, on_border.y + (towards.y - on_border.y) * step)
    with small.begin() as conn:
        cid, code = conn.execute(text("SELECT id, code FROM customer WHERE org_path LIKE :d ORDER BY id LIMIT 1"),
                                 {"d": district + "%"}).one()
        conn.execute(text("UPDATE customer SET lon = :x, lat = :y WHERE id = :i"),
                     {"x": on_border.x, "y": on_border.y, "i": cid})
    assert code not in set(maps.data.grid_membership(small, district)["code"])


def test_grid_without_owner_is_listed(small):
    district, ga, a, gb, b = _neighbours(small)
    with small.begin() as conn:
        conn.execute(text("UPDATE grid SET owner_name = '' WHERE id = :i"), {"i": ga})
        code = conn.execute(text("SELECT code FROM grid WHERE id = :i"), {"i": ga}).scalar_one()
    assert maps.data.grids_without_owner(small, district)["code"].tolist() == [code]


# --- turning what the browser sends into changes --------------------------------------------------


def _feature(geom, **props):
    return {"type": "Feature", "properties": props, "geometry": mapping(geom)}


def test_drawings_to_changes_reads_edited_and_new_polygons():
    a = box(117.0, 36.6, 117.1, 36.7)
    assert maps.drawings_to_changes([_feature(a, grid_id=5, code="WG1")], [5]) == {5: a}
    assert maps.drawings_to_changes([_feature(a, grid_id=5), _feature(a.buffer(0.01))], [5])[5].equals(a.buffer(0.01))
    with pytest.raises(ValueError):
        maps.drawings_to_changes([_feature(a)], [5, 6])
    assert maps.drawings_to_changes(None, [5]) == {}


def test_drawings_on_gcj02_tiles_are_converted_back_to_wgs84():
    wgs = box(117.0, 36.6, 117.1, 36.7)
    gcj = geo.transform_geometry(wgs)
    got = maps.drawings_to_changes([_feature(gcj, grid_id=1)], [1], background="amap")[1]
    for (x0, y0), (x1, y1) in zip(wgs.exterior.coords, got.exterior.coords):
        assert geo.haversine_m(x0, y0, x1, y1) < 0.01


def test_upload_to_changes(small):
    district, ga, a, gb, b = _neighbours(small)
    grids = maps.editing.district_grids(small, "/37/", district)["grids"]
    code_b = grids.set_index("id").loc[gb, "code"]
    one = json.dumps(mapping(a))
    assert maps.upload_to_changes(one, grids, ga)[ga].equals(a)
    fc = json.dumps({"type": "FeatureCollection", "features": [_feature(a, code="nope"), _feature(b, code=code_b)]})
    with pytest.raises(ValueError, match="code"):
        maps.upload_to_changes(fc, grids, ga)
    fc = json.dumps({"type": "FeatureCollection", "features": [_feature(b, code=code_b)]})
    assert list(maps.upload_to_changes(fc.encode(), grids, ga)) == [gb]
    with pytest.raises(ValueError, match="GeoJSON"):
        maps.upload_to_changes(b"not json", grids, ga)
    with pytest.raises(ValueError, match="Polygon"):
        maps.upload_to_changes(json.dumps({"type": "Point", "coordinates": [117, 36]}), grids, ga)


def test_hand_dragged_border_snaps_onto_the_neighbour(small):
    """A vertex dragged to within a metre or two of the neighbour's vertex snaps onto it, so a
    reshape made by hand on the map passes the partition check."""
    district, ga, a, gb, b = _neighbours(small)
    grids = maps.editing.district_grids(small, "/37/", district)
    jitter = shapely.transform(a, lambda c: c + np.array([7e-6, -6e-6]))  # ~0.8 m off everywhere
    changes = maps.proposed_changes(grids["grids"], ga, None, [_feature(jitter, grid_id=int(ga))], None, "none",
                                    grids["district"])
    assert maps.editing.check_change(small, "/37/", district, changes).ok
    assert not maps.editing.check_change(small, "/37/", district, {ga: jitter}).ok
