"""lib.vocab: value lists defined once and used by the domain modules, one `labelled` for every table."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from lib import customers, development, four_rates, matters, models, rules, visits, vocab
from lib.i18n import catalog, translator

ZH, EN = translator("zh"), translator("en")


@pytest.mark.parametrize("used, defined", [
    (customers.KINDS, vocab.CUSTOMER_KINDS), (customers.STATUSES, vocab.CUSTOMER_STATUSES),
    (customers.FUELS, vocab.FUELS), (customers.PAYMENTS, vocab.PAYMENTS), (customers.LOYALTIES, vocab.LOYALTIES),
    (customers.AGREEMENTS, vocab.AGREEMENTS), (customers.TIER_RULES, rules.RULE_IDS),
    (visits.MODES, vocab.VISIT_MODES), (matters.KINDS, vocab.MATTER_KINDS), (matters.STATES, vocab.MATTER_STATES),
    (matters.LEVELS, vocab.ORG_LEVELS), (development.KINDS, vocab.PLAN_KINDS),
    (four_rates.STATUSES, vocab.RATE_STATUSES), (four_rates.CLASSES, vocab.VEHICLE_CLASSES),
    (development.LEVELS, vocab.ORG_LEVELS), (vocab.TIERS, rules.TIERS), (vocab.TIER_RULES, rules.RULE_IDS),
], ids=["kinds", "statuses", "fuels", "payments", "loyalties", "agreements", "customer_tier_rules", "modes",
        "matter_kinds", "matter_states", "matter_levels", "plan_kinds", "rate_statuses", "vehicle_classes",
        "plan_levels", "tiers", "tier_rules"])
def test_modules_use_the_vocabulary_not_a_copy(used, defined):
    assert used is defined


def test_matter_steps_and_actions_are_those_of_the_route_table():
    steps = {s.step for route in matters.ROUTES.values() for s in route} | {matters.CLOSED}
    actions = {a for route in matters.ROUTES.values() for s in route for a, _ in s.actions} | {"raise", "escalate"}
    assert set(vocab.MATTER_STEPS) == steps and len(vocab.MATTER_STEPS) == len(steps)
    assert set(vocab.MATTER_ACTIONS) == actions and len(vocab.MATTER_ACTIONS) == len(actions)


@pytest.mark.parametrize("model_list, vocabulary", [
    (models.DEV_STAGES, "stage"), (models.ORG_LEVELS, "level"), (models.SURVEY_STATES, "status"),
    (models.TASK_STATES, "task_state"), (models.WARNING_REASONS, "reason"),
], ids=["dev_stages", "org_levels", "survey_states", "task_states", "warning_reasons"])
def test_model_value_lists_are_in_the_vocabulary(model_list, vocabulary):
    """lib.models keeps its own tuples for now (another branch moves it into a package): they must
    stay inside the vocabulary the tables translate."""
    assert set(model_list) <= set(vocab.VALUES[vocabulary])


def test_every_default_vocabulary_exists():
    assert set(vocab.COLUMN_VALUES) <= set(vocab.COLUMNS)
    assert set(vocab.COLUMN_VALUES.values()) <= set(vocab.VALUES)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_map_tables_speak_the_vocabulary(lang):
    """The tables beside the maps (lib.maps.labelled) use the one vocabulary: headers col.*, coded
    values (status, sub type, kind, tier) translated."""
    from lib import maps
    from lib.i18n import translator

    t = translator(lang)
    df = pd.DataFrame({"code": ["C1"], "status": ["potential"], "sub_type": ["mining"],
                       "kind": ["institutional"], "tier": ["city"], "distance_km": [1.5]})
    shown = maps.labelled(df, t)
    assert list(shown.columns) == [t(f"col.{c}") for c in ("code", "status", "sub_type", "kind", "tier", "distance_km")]
    row = shown.iloc[0].tolist()
    assert row[1:5] == [t("val.customer_status.potential"), t("val.sub_type.mining"), t("kind.institutional"),
                        t("tier.city")]
    assert not {"potential", "mining", "institutional", "city"} & set(map(str, row))


# (id, frame, columns, values, expected headers, expected first row)
CASES = [
    ("codes_translated", {"tier": ["city"], "kind": ["personal"], "status": ["late"], "rule": ["city.gasoline"],
                          "value_class": [1], "late": [True]}, None, None,
     ["等级", "类型", "状态", "判定规则", "价值类别", "逾期"],
     ["地市级", "个人客户", "逾期报送", "汽油月需求达地市级标准(6.3.1.2.1)", "一类", "是"]),
    ("unlabelled_columns_left_out", {"code": ["C1"], "district_path": ["/37/3701/"], "volume_t": [1.5]}, None, None,
     ["客户代码", "销量(吨)"], ["C1", 1.5]),
    ("columns_pick_and_order", {"code": ["C1"], "name": ["甲"], "phone": ["1"]}, ["name", "code", "missing", "name"],
     None, ["名称", "客户代码"], ["甲", "C1"]),
    ("shared_label_kept_twice", {"station": ["甲站"], "station_name": ["乙站"]}, None, None, ["加油站", "加油站 (station_name)"],
     ["甲站", "乙站"]),
    ("values_override_default", {"level": ["junior"], "status": ["potential"], "kind": ["routine"]}, None,
     {"level": "manager_level", "status": "customer_status", "kind": "matter_kind"},
     ["级别", "状态", "类型"], ["初级经理", "潜在", "常规性"]),
    ("default_level_is_org_level", {"level": ["city"]}, None, None, ["级别"], ["地市分公司"]),
    ("unknown_code_kept", {"payment": ["barter"], "tier_override": [None]}, None, None,
     ["支付方式", "人工调整分级"], ["barter", ""]),
    ("dates_and_minutes", {"due_on": [dt.date(2026, 10, 5)], "raised_at": ["2026-10-05 08:30:59.123"],
                           "planned_on": [dt.date(2026, 10, 6)]}, None, None,
     ["截止日期", "登记时间", "计划日期"], ["2026-10-05", "2026-10-05 08:30", "2026-10-06"]),
    ("bool_values", {"transfer_due": [False], "overdue": [1]}, None, {"overdue": "bool"},
     ["应转岗", "逾期"], ["否", "是"]),
]


@pytest.mark.parametrize("frame, columns, values, headers, first", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_labelled(frame, columns, values, headers, first):
    out = vocab.labelled(pd.DataFrame(frame), ZH, columns, values)
    assert list(out.columns) == headers
    assert out.iloc[0].tolist() == first


def test_labelled_blank_text_is_empty_and_numbers_stay_numbers():
    df = pd.DataFrame({"name": ["甲", None], "note": [None, None], "volume_t": [1.0, None], "customers": [3, 4]})
    out = vocab.labelled(df, EN)
    assert out["Name"].tolist() == ["甲", ""]
    assert out[EN("col.note")].tolist() == ["", ""]
    assert out["Volume (t)"].iloc[0] == 1.0 and pd.isna(out["Volume (t)"].iloc[1])
    assert out[EN("col.customers")].tolist() == [3, 4]


@pytest.mark.parametrize("vocabulary, value, key", [
    ("tier", "city", "tier.city"), ("kind", "personal", "kind.personal"), ("level", "city", "level.city"),
    ("payment", "cash", "val.payment.cash"), ("tier_rule", "city.card", "val.tier_rule.city.card"),
])
def test_value_keys(vocabulary, value, key):
    assert vocab.value_key(vocabulary, value) == key
    assert key in catalog("zh") and key in catalog("en")
