"""Page grid_edit 网格编辑: the district picker holds exactly the scope's districts, the grid picker that
district's grids. (Editing itself is tested in tests/test_grid_edit.py and in the browser.)"""
from __future__ import annotations

from apptest_helpers import open_page, scope_of
from sqlalchemy import text

from lib.ui import Keys

PAGE = "pages/grid_edit.py"
K = Keys.GridEdit


def test_pickers_offer_the_scopes_districts_and_the_districts_grids(engine):
    at = open_page(PAGE, "city")
    scope = scope_of(engine, "city")
    with engine.connect() as conn:
        districts = conn.execute(text("SELECT path, name FROM org_unit WHERE level = 'district' AND path LIKE :s "
                                      "ORDER BY path"), {"s": scope + "%"}).all()
        others = conn.execute(text("SELECT path FROM org_unit WHERE level = 'district' AND path NOT LIKE :s"),
                              {"s": scope + "%"}).scalars().all()
    picker = at.selectbox(key=K.DISTRICT)
    assert list(picker.options) == [name for _, name in districts] and len(districts) > 1 and others
    at = picker.set_value(districts[1].path).run()
    assert not at.exception, [e.value for e in at.exception]
    with engine.connect() as conn:
        grids = conn.execute(text("SELECT code || ' ' || name FROM grid WHERE org_path LIKE :d"),
                             {"d": districts[1].path + "%"}).scalars().all()
    assert at.selectbox(key=K.DISTRICT).value == districts[1].path
    options = at.selectbox(key=K.GRID).options
    assert options and set(options) <= set(grids)
