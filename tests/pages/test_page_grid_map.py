"""Page grid_map 网格地图: the selected grid's panel figures against SQL, the membership check on request.
(The map builders are tested in tests/test_maps.py, the map in a real browser in test_grid_map_browser.py.)"""
from __future__ import annotations

from apptest_helpers import app, open_page, scope_of
from sqlalchemy import text

from lib import maps
from lib.i18n import translator
from lib.queries import default_scope_and_month

PAGE = "pages/grid_map.py"


def test_grid_map_page_panel_shows_the_selected_grids_figures(fixture_url, engine):
    scope, month = scope_of(engine, "area"), default_scope_and_month(engine)[1]
    grid = maps.data.grids(engine, scope).iloc[1]
    at = app("area", "en")
    at.session_state["grid_map_selected"] = grid["code"]
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(grid["code"] in s.value for s in at.subheader)
    t = translator("en")
    shown = {m.label: m.value for m in at.metric}
    with engine.connect() as conn:
        expected = dict(conn.execute(text(
            "SELECT COALESCE(tier_override, computed_tier), COUNT(*) FROM customer c WHERE grid_id = :g "
            "AND org_path LIKE :s AND (status = 'existing' OR (status = 'lost' AND lost_month > :m)) "
            "AND (developed_month IS NULL OR developed_month <= :m) GROUP BY 1"),
            {"g": int(grid["id"]), "s": scope + "%", "m": month}).all())
    for tier in ("province", "city", "district", "station"):
        assert shown[t(f"tier.{tier}")] == f"{expected.get(tier, 0):,}"
    assert sum(expected.values()) > 0
    assert [b.label for b in at.get("download_button")] == [t("maps.card.download_html"), t("maps.card.download_svg")]


def test_membership_check_runs_on_request_above_district_and_at_once_below(fixture_url, engine):
    """Province and city scopes hold up to a million customers: the per-customer check against the
    grids waits for a click there; a district manager sees it at once."""
    t = translator("zh")
    for login, automatic in (("admin", False), ("area", True)):
        at = open_page(PAGE, login, lang="zh")
        expected = t("maps.partition.membership", n=len(maps.data.grid_membership(engine, scope_of(engine, login))))
        buttons = [b for b in at.button if b.key == "grid_map_membership_run"]
        if automatic:
            assert not buttons and any(m.value == expected for m in at.markdown)
        else:
            assert buttons and not any(m.value == expected for m in at.markdown)
            buttons[0].click().run()
            assert not at.exception, [e.value for e in at.exception]
            assert any(m.value == expected for m in at.markdown)
