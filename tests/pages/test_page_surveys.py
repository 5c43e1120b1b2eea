"""Page surveys 客户调查 (issue 15; 002 §6.5.1–6.5.2): the status figures against an independent count,
the forms only for roles with "surveys.record", a station manager's form for their own station only.
(Recording through the page against the import: tests/test_surveys.py.)"""
from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from apptest_helpers import T, metrics, open_page, scope_and_month, survey_states

from lib import fmt, surveys

PAGE = "pages/surveys.py"


@pytest.mark.parametrize("city_index", [None, 1])
def test_page_figures_equal_an_independent_count(engine, city_index):
    at = open_page(PAGE, city_index=city_index)
    scope, month = scope_and_month(engine, city_index)
    period = surveys.survey_period(month)
    y, m = int(month[:4]), int(month[5:])
    end = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).isoformat()
    expected = Counter(s for _, s in survey_states(engine, scope, period, end, pending=period == month).values())
    shown = metrics(at)
    for state in ("on_time", "late", "missing", "pending"):
        assert shown[T(f"surveys.{state}")] == fmt.count(expected[state], "en"), state


@pytest.mark.parametrize("login,form", [("city", True), ("station", True), ("viewer", False), ("custmgr", False)])
def test_only_recording_roles_get_the_forms(engine, login, form):
    at = open_page(PAGE, login=login)
    keys = {b.key for b in at.button}
    assert ({"survey_p_submit", "survey_s_submit"} <= keys) == form
    if login == "station":  # a station manager reports for their own station only
        assert len(at.selectbox(key="survey_p_station").options) == 1


def test_district_table_equals_an_independent_count(engine):
    from sqlalchemy import text

    at = open_page(PAGE, login="city")
    user_scope = "/37/3701/"  # the demo city manager's city
    _, month = scope_and_month(engine, None)
    period = surveys.survey_period(month)
    y, m = int(month[:4]), int(month[5:])
    end = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).isoformat()
    states = survey_states(engine, user_scope, period, end, pending=period == month)
    with engine.connect() as conn:
        names = dict(conn.execute(text("SELECT id, name FROM org_unit WHERE level = 'district'")).all())
    expected = {names[d]: Counter(s for dd, s in states.values() if dd == d) for d in {d for d, _ in states.values()}}
    table = next(d.value for d in at.dataframe if T("col.reported_late") in d.value.columns)
    shown = {r[T("col.district")]: (r[T("col.on_time")], r[T("col.reported_late")], r[T("col.missing")],
                                    r[T("col.pending")]) for r in table.to_dict("records")}
    assert len(expected) > 1 and shown == {d: (c["on_time"], c["late"], c["missing"], c["pending"])
                                           for d, c in expected.items()}
