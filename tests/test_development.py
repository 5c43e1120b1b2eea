"""lib.development: plan targets and completion rolled up, the appendix 1 plan, pipeline (surveys:
tests/test_surveys.py)."""
from __future__ import annotations

import datetime as dt

import pytest
from apptest_helpers import user_of
from sqlalchemy import text

from lib import development as dev
from lib import queries
from lib.models import DEV_STAGES

MONTH = "2026-10"


def _paths(engine, level, n=2):
    with engine.connect() as conn:
        return conn.execute(text("SELECT path FROM org_unit WHERE level = :l ORDER BY path LIMIT :n"),
                            {"l": level, "n": n}).scalars().all()


def _independent_plan(engine, scope, month):
    """Targets and actuals from the detail tables and the rule book's defaults, in plain SQL + Python."""
    like = scope + "%"
    with engine.connect() as conn:
        units = conn.execute(text("SELECT id, level FROM org_unit WHERE path LIKE :s"), {"s": like}).all()
        edited = {(u, k): t for u, k, t in conn.execute(
            text("SELECT org_unit_id, kind, target FROM development_plan WHERE month = :m"), {"m": month}).all()}
        new = conn.execute(text("SELECT kind, payment, agreement FROM customer WHERE org_path LIKE :s "
                                "AND developed_month = :m"), {"s": like, "m": month}).all()
    inst_t = sum(edited.get((u, "institutional"), 1) for u, lv in units if lv == "district")
    card_t = sum(edited.get((u, "personal_card"), 10) for u, lv in units if lv == "station")
    # 002 §6.5.4.5: an institution counts only with its supply agreement; the others are shown apart
    inst_a = sum(1 for k, _, a in new if k == "institutional" and a)
    card_a = sum(1 for k, p, _ in new if k == "personal" and p == "fuel_card")
    no_agreement = sum(1 for k, _, a in new if k == "institutional" and not a)
    return {"institutional": (inst_t, inst_a), "personal_card": (card_t, card_a), "no_agreement": no_agreement}


@pytest.mark.parametrize("level", ["province", "city", "district", "station"])
@pytest.mark.parametrize("month", [MONTH, "2026-11", "2026-06"])
def test_totals_equal_independent_sql_and_the_overview(engine, level, month):
    scope = "/37/" if level == "province" else _paths(engine, level, 1)[0]
    got = dev.totals(engine, scope, month)
    exp = _independent_plan(engine, scope, month)
    for kind in dev.KINDS:
        assert (got[kind]["target"], got[kind]["actual"]) == exp[kind], kind
    assert got["institutional"]["no_agreement"] == exp["no_agreement"]  # the overview shows it too
    assert got == queries.plan_completion(engine, scope, month)


def test_edited_plan_rows_replace_the_default(engine):
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT org_unit_id, kind, target, month FROM development_plan")).all()
    assert rows, "the fixture has edited plan rows"
    month = rows[0][3]
    plan = dev.unit_plan(engine, "/37/", month).set_index("station_unit_id")
    districts = dev.district_plan(engine, "/37/", month).set_index("district_id")
    for unit, kind, target, _ in rows:
        if kind == "personal_card":
            assert plan.loc[unit, "card_target"] == target and plan.loc[unit, "card_edited"] == 1
        else:
            assert districts.loc[unit, "inst_target"] == target and districts.loc[unit, "inst_edited"] == 1
    assert (plan["card_edited"] == 0).sum() > 0 and set(plan.loc[plan["card_edited"] == 0, "card_target"]) == {10}


@pytest.mark.parametrize("level", ["station", "district", "city", "province"])
def test_rollup_sums_to_the_totals_and_ranks_by_completion(engine, level):
    roll = dev.rollup(engine, "/37/", MONTH, level)
    tot = dev.totals(engine, "/37/", MONTH)
    with engine.connect() as conn:
        n = conn.execute(text("SELECT COUNT(*) FROM org_unit WHERE level = :l"), {"l": level}).scalar()
    assert len(roll) == n
    assert roll["card_target"].sum() == tot["personal_card"]["target"]
    assert roll["card_actual"].sum() == tot["personal_card"]["actual"]
    assert roll["inst_actual"].sum() == tot["institutional"]["actual"]
    if level != "station":
        assert roll["inst_target"].sum() == tot["institutional"]["target"]
    else:
        assert roll["inst_target"].isna().all()
    best = roll.loc[roll["card_rank"] == 1, "card_completion"]
    assert (best == roll["card_completion"].max()).all()
    assert list(roll["card_rank"]) == sorted(roll["card_rank"])
    for row in roll.itertuples():
        assert row.card_completion == pytest.approx(row.card_actual / row.card_target)


def test_rollup_rejects_an_unknown_level(engine):
    with pytest.raises(ValueError, match="level"):
        dev.rollup(engine, "/37/", MONTH, "galaxy")


@pytest.mark.parametrize("month,due", [("2026-11", dt.date(2026, 10, 25)), ("2027-01", dt.date(2026, 12, 25)),
                                       ("2026-03", dt.date(2026, 2, 25))])
def test_plan_is_due_on_the_25th_of_the_month_before(month, due):
    assert dev.plan_due(month) == due


@pytest.mark.parametrize("bad", ["2026-13", "26-10", "2026/10", "", None])
def test_bad_months_are_refused(engine, bad):
    with pytest.raises(ValueError):
        dev.totals(engine, "/37/", bad)


def test_pipeline_is_a_funnel_of_the_cases(engine):
    pipe = dev.pipeline(engine, "/37/", MONTH)
    with engine.connect() as conn:
        counts = dict(conn.execute(text("SELECT stage, COUNT(*) FROM development WHERE started_on <= '2026-10-31' "
                                        "GROUP BY stage")).all())
    assert list(pipe["stage"]) == [*DEV_STAGES, "lost"]
    assert dict(zip(pipe["stage"], pipe["cases"])) == {s: counts.get(s, 0) for s in [*DEV_STAGES, "lost"]}
    reached = pipe.loc[pipe["stage"] != "lost", "reached"].tolist()
    assert reached == sorted(reached, reverse=True) and reached[0] == sum(counts.get(s, 0) for s in DEV_STAGES)


# --- writes ---------------------------------------------------------------------------------------


_user = user_of  # (conftest.py: `small`, a writable 900-customer province)


def _unit(engine, scope, level):
    with engine.connect() as conn:
        return conn.execute(text("SELECT id FROM org_unit WHERE path LIKE :s AND level = :l ORDER BY path LIMIT 1"),
                            {"s": scope + "%", "l": level}).scalar()


@pytest.mark.parametrize("login", ["admin", "city", "area"])
def test_targets_are_editable_above_station_level_and_audited(small, login):
    user = _user(small, login)
    station, district = _unit(small, user.scope, "station"), _unit(small, user.scope, "district")
    before = dev.totals(small, user.scope, "2026-12")
    dev.set_target(small, user, station, "2026-12", "personal_card", 14)
    dev.set_target(small, user, district, "2026-12", "institutional", 3)
    dev.set_target(small, user, station, "2026-12", "personal_card", 12)  # edited again: one row, new value
    after = dev.totals(small, user.scope, "2026-12")
    assert after["personal_card"]["target"] == before["personal_card"]["target"] + 2
    assert after["institutional"]["target"] == before["institutional"]["target"] + 2
    with small.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM development_plan WHERE month = '2026-12'")).scalar() == 2
        audit = conn.execute(text("SELECT actor, before, after FROM audit_log WHERE entity = 'development_plan' "
                                  "ORDER BY id")).all()
    assert [a[0] for a in audit] == [user.login] * 3
    assert '"target": 14' in audit[2][1] and '"target": 12' in audit[2][2]
    status = dev.plan_status(small, user.scope, "2026-12")
    assert len(status) == 2 and set(status["plan_kind"]) == {"institutional", "personal_card"}


@pytest.mark.parametrize("login", ["station", "custmgr", "viewer"])
def test_station_level_roles_cannot_edit_targets(small, login):
    user = _user(small, login)
    station = _unit(small, "/37/", "station")
    with pytest.raises(dev.NotAllowed):
        dev.set_target(small, user, station, "2026-12", "personal_card", 5)


@pytest.mark.parametrize("kind,level,target,message", [
    ("personal_card", "district", 5, "station"), ("institutional", "station", 1, "district"),
    ("personal_card", "station", -1, "target"), ("personal_card", "station", 1001, "target"),
    ("personal_card", "station", 2.5, "target"), ("cars", "station", 1, "kind"),
])
def test_bad_targets_are_refused(small, kind, level, target, message):
    admin = _user(small, "admin")
    with pytest.raises(ValueError, match=message):
        dev.set_target(small, admin, _unit(small, "/37/", level), "2026-12", kind, target)


def test_targets_outside_the_scope_are_refused(small):
    area = _user(small, "area")
    with small.connect() as conn:
        other = conn.execute(text("SELECT id FROM org_unit WHERE level = 'station' AND path NOT LIKE :s LIMIT 1"),
                             {"s": area.scope + "%"}).scalar()
    with pytest.raises(dev.NotAllowed, match="scope"):
        dev.set_target(small, area, other, "2026-12", "personal_card", 5)


@pytest.mark.parametrize("scope,levels", [
    ("/37/", ["station", "district", "city", "province"]), ("/37/3701/", ["station", "district", "city"]),
    ("/37/3701/370102/", ["station", "district"]), ("/37/3701/370102/370102003/", ["station"]),
    ("/37/3701/370102/370102003/m5/", ["station"]),
])
def test_levels_offered_for_a_scope(scope, levels):
    assert dev.levels_for(scope) == levels
