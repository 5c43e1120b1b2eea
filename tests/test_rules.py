"""Tests for the rule book `lib/rules.py` (规则).

The authority is the Chinese seed: 002 §3.2 (机构客户规模), 002 §6.3.1 / §6.4.1.4 (客户分级),
001 (加油站分级, 客户代码制) and 003 §4.5–4.6 (客户经理). The seed numbers for sizes and tiers are
hard-coded here on purpose, so that a wrong `config/rules.toml` is caught; the numbers the seeds
leave open (customer-manager thresholds, commission coefficients) are read from the config.
"""
from __future__ import annotations

import math
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lib import rules as R
from lib.config import rules as config_rules

# --- seed numbers (002 §3.2.1–3.2.3, §6.3.1) ------------------------------------------------------
G_LARGE = 5.0  # 汽油月需求 5 吨及以上
G_MEDIUM = 2.0  # 2 吨(含 2 吨)
D_LARGE = 50.0  # 柴油月需求 50 吨及以上
D_MEDIUM = 20.0  # 20 吨(含 20 吨)
C_LARGE = 1_000_000.0  # 不记名卡年采购额 100 万元及以上
C_MEDIUM = 100_000.0  # 10 万元(含 10 万元)
C_PROVINCE = 20_000_000.0  # 不小于 2000 万元

TIER_ORDER = {t: i for i, t in enumerate(("station", "district", "city", "province"))}

CM = config_rules()["customer_manager"]
COMM = CM["commission_cny_per_t"]


def below(x: float) -> float:
    """A value just under a threshold, e.g. 4.999999 for 5."""
    return x - 1e-6 if x < 1000 else x - 0.01


def above(x: float) -> float:
    return x + 1e-6 if x < 1000 else x + 0.01


# --- config matches the seed ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "section,key,seed_value",
    [
        ("institution_size", "large_gasoline_t", G_LARGE),
        ("institution_size", "medium_gasoline_t", G_MEDIUM),
        ("institution_size", "large_diesel_t", D_LARGE),
        ("institution_size", "medium_diesel_t", D_MEDIUM),
        ("institution_size", "large_card_cny", C_LARGE),
        ("institution_size", "medium_card_cny", C_MEDIUM),
        ("tier", "province_card_cny", C_PROVINCE),
        ("tier", "city_gasoline_t", G_LARGE),
        ("tier", "city_diesel_t", D_LARGE),
        ("tier", "city_card_cny", C_LARGE),
        ("tier", "district_gasoline_t", G_MEDIUM),
        ("tier", "district_diesel_t", D_MEDIUM),
        ("tier", "district_card_cny", C_MEDIUM),
        ("station_grade", "graded_t_per_day", 3.0),
        ("station_grade", "reform_t_per_day", 2.0),
        ("station_grade", "large_t_per_year", 2000.0),
        ("customer_manager", "trainee_months", 3),
        ("customer_manager", "transfer_after_misses", 2),
    ],
    ids=lambda v: str(v),
)
def test_config_holds_seed_numbers(section, key, seed_value):
    assert config_rules()[section][key] == seed_value


# --- 1. institution size 机构客户规模 — 002 §3.2 ---------------------------------------------------

SIZE_CASES = [
    # (id, g, d, c, expected)
    ("zeros", 0, 0, 0, "small"),
    # gasoline alone
    ("g-under-2", below(G_MEDIUM), 0, 0, "small"),
    ("g-1.999999", 1.999999, 0, 0, "small"),
    ("g-at-2", G_MEDIUM, 0, 0, "medium"),
    ("g-over-2", above(G_MEDIUM), 0, 0, "medium"),
    ("g-4.999999", 4.999999, 0, 0, "medium"),
    ("g-at-5", G_LARGE, 0, 0, "large"),
    ("g-over-5", above(G_LARGE), 0, 0, "large"),
    ("g-int-5", 5, 0, 0, "large"),
    ("g-huge", 1e9, 0, 0, "large"),
    # diesel alone
    ("d-under-20", 0, below(D_MEDIUM), 0, "small"),
    ("d-at-20", 0, D_MEDIUM, 0, "medium"),
    ("d-over-20", 0, above(D_MEDIUM), 0, "medium"),
    ("d-49.999999", 0, 49.999999, 0, "medium"),
    ("d-at-50", 0, D_LARGE, 0, "large"),
    ("d-over-50", 0, above(D_LARGE), 0, "large"),
    # card alone
    ("c-99999.99", 0, 0, 99_999.99, "small"),
    ("c-at-100k", 0, 0, C_MEDIUM, "medium"),
    ("c-over-100k", 0, 0, above(C_MEDIUM), "medium"),
    ("c-999999.99", 0, 0, 999_999.99, "medium"),
    ("c-at-1m", 0, 0, C_LARGE, "large"),
    ("c-over-1m", 0, 0, above(C_LARGE), "large"),
    ("c-int-1m", 0, 0, 1_000_000, "large"),
    # combinations: the largest size wins
    ("g-small+d-large", 1, D_LARGE, 0, "large"),
    ("g-large+d-small", G_LARGE, 1, 0, "large"),
    ("g-small+d-small+c-large", 1, 1, C_LARGE, "large"),
    ("g-medium+d-large", G_MEDIUM, D_LARGE, 0, "large"),
    ("g-medium+c-large", 3, 0, C_LARGE, "large"),
    ("g-small+d-medium", 1.5, D_MEDIUM, 0, "medium"),
    ("g-small+c-medium", 1.5, 10, C_MEDIUM, "medium"),
    ("all-just-under-medium", below(G_MEDIUM), below(D_MEDIUM), 99_999.99, "small"),
    ("all-just-under-large", 4.999999, 49.999999, 999_999.99, "medium"),
    ("all-medium", G_MEDIUM, D_MEDIUM, C_MEDIUM, "medium"),
    ("all-large", G_LARGE, D_LARGE, C_LARGE, "large"),
]


@pytest.mark.parametrize("g,d,c,expected", [c[1:] for c in SIZE_CASES], ids=[c[0] for c in SIZE_CASES])
def test_institution_size(g, d, c, expected):
    assert R.institution_size(g, d, c) == expected


@pytest.mark.parametrize(
    "g,d,c,rule",
    [
        (G_LARGE, D_LARGE, C_LARGE, "size.large.gasoline"),
        (0, D_LARGE, 0, "size.large.diesel"),
        (0, 0, C_LARGE, "size.large.card"),
        (G_MEDIUM, 0, 0, "size.medium.gasoline"),
        (0, D_MEDIUM, 0, "size.medium.diesel"),
        (0, 0, C_MEDIUM, "size.medium.card"),
        (0, 0, 0, "size.small"),
    ],
    ids=["large-gasoline", "large-diesel", "large-card", "medium-gasoline", "medium-diesel", "medium-card", "small"],
)
def test_institution_size_explained(g, d, c, rule):
    size, got_rule = R.institution_size_explained(g, d, c)
    assert got_rule == rule
    assert size == rule.split(".")[1]


# --- 2. customer tier 客户分级 — 002 §6.3.1 --------------------------------------------------------

# Volume / card rules apply to institutional and personal customers alike (6.3.1.2.1 / 6.3.1.3.1
# "机构客户或个人客户"; card rules say "客户"), so each boundary is checked for both.
VOLUME_TIER_CASES = [
    # (id, g, d, c, tier)
    ("zeros", 0, 0, 0, "station"),
    # card alone
    ("c-99999.99", 0, 0, 99_999.99, "station"),
    ("c-at-100k", 0, 0, C_MEDIUM, "district"),
    ("c-over-100k", 0, 0, above(C_MEDIUM), "district"),
    ("c-999999.99", 0, 0, 999_999.99, "district"),
    ("c-at-1m", 0, 0, C_LARGE, "city"),
    ("c-over-1m", 0, 0, above(C_LARGE), "city"),
    ("c-19999999.99", 0, 0, 19_999_999.99, "city"),
    ("c-at-20m", 0, 0, C_PROVINCE, "province"),
    ("c-over-20m", 0, 0, above(C_PROVINCE), "province"),
    ("c-int-20m", 0, 0, 20_000_000, "province"),
    # gasoline alone
    ("g-1.999999", 1.999999, 0, 0, "station"),
    ("g-at-2", G_MEDIUM, 0, 0, "district"),
    ("g-over-2", above(G_MEDIUM), 0, 0, "district"),
    ("g-4.999999", 4.999999, 0, 0, "district"),
    ("g-at-5", G_LARGE, 0, 0, "city"),
    ("g-over-5", above(G_LARGE), 0, 0, "city"),
    ("g-huge-not-province", 1e9, 0, 0, "city"),
    # diesel alone
    ("d-19.999999", 0, 19.999999, 0, "station"),
    ("d-at-20", 0, D_MEDIUM, 0, "district"),
    ("d-over-20", 0, above(D_MEDIUM), 0, "district"),
    ("d-49.999999", 0, 49.999999, 0, "district"),
    ("d-at-50", 0, D_LARGE, 0, "city"),
    ("d-over-50", 0, above(D_LARGE), 0, "city"),
    ("d-huge-not-province", 0, 1e9, 0, "city"),
    # combinations: the highest tier wins
    ("g-station+d-city", 1, D_LARGE, 0, "city"),
    ("g-city+d-station", G_LARGE, 1, 0, "city"),
    ("g-district+d-city", G_MEDIUM, D_LARGE, 0, "city"),
    ("g-station+d-district", 1, D_MEDIUM, 0, "district"),
    ("g-station+d-station+c-district", 1, 19, C_MEDIUM, "district"),
    ("g-district+c-city", 3, 0, C_LARGE, "city"),
    ("g-city+c-province", G_LARGE, 0, C_PROVINCE, "province"),
    ("d-city+c-province", 0, D_LARGE, C_PROVINCE, "province"),
    ("all-just-under-district", 1.999999, 19.999999, 99_999.99, "station"),
    ("all-just-under-city", 4.999999, 49.999999, 999_999.99, "district"),
    ("all-just-under-province", 1e6, 1e6, 19_999_999.99, "city"),
]


@pytest.mark.parametrize("institutional", [True, False], ids=["institutional", "personal"])
@pytest.mark.parametrize(
    "g,d,c,expected", [c[1:] for c in VOLUME_TIER_CASES], ids=[c[0] for c in VOLUME_TIER_CASES]
)
def test_customer_tier_volume_and_card(g, d, c, expected, institutional):
    assert R.customer_tier(g, d, c, institutional=institutional) == expected


FLAG_TIER_CASES = [
    # (id, g, d, c, institutional, agreement, province_procurement, stable, tier)
    # 6.3.1.1.1 province-wide institution with unified procurement — institutions only
    ("procurement-institution", 0, 0, 0, True, None, True, False, "province"),
    ("procurement-personal-ignored", 0, 0, 0, False, None, True, False, "station"),
    ("procurement-personal-keeps-volume-tier", G_LARGE, 0, 0, False, None, True, False, "city"),
    # 6.3.1.1.2 agreement signed by the province company → province, for anyone
    ("province-agreement-institution", 0, 0, 0, True, "province", False, False, "province"),
    ("province-agreement-personal", 0, 0, 0, False, "province", False, False, "province"),
    ("province-agreement-not-stable", 1, 1, 1, True, "province", False, False, "province"),
    # 6.3.1.3.2 small/medium institution with a supply agreement and stable consumption → district
    ("small-city-agreement-stable", 0, 0, 0, True, "city", False, True, "district"),
    ("small-district-agreement-stable", 0, 0, 0, True, "district", False, True, "district"),
    ("small-district-agreement-not-stable", 0, 0, 0, True, "district", False, False, "station"),
    ("small-city-agreement-not-stable", 0, 0, 0, True, "city", False, False, "station"),
    ("small-stable-no-agreement", 0, 0, 0, True, None, False, True, "station"),
    ("medium-card-district-agreement-stable", 0, 0, C_MEDIUM, True, "district", False, True, "district"),
    ("medium-gasoline-city-agreement-stable", 3, 0, 0, True, "city", False, True, "district"),
    # personal customers: the agreement rule is for institutions; personal card holders → station
    ("personal-city-agreement-stable", 0, 0, 0, False, "city", False, True, "station"),
    ("personal-district-agreement-stable", 1, 1, 1, False, "district", False, True, "station"),
    ("personal-stable-district-volume", G_MEDIUM, 0, 0, False, "district", False, True, "district"),
    # large institutions are city by volume already (6.3.1.2.1 / 6.3.1.2.3), agreement or not
    ("large-gasoline-city-agreement", G_LARGE, 0, 0, True, "city", False, True, "city"),
    ("large-diesel-city-agreement-not-stable", 0, D_LARGE, 0, True, "city", False, False, "city"),
    ("large-card-city-agreement", 0, 0, C_LARGE, True, "city", False, True, "city"),
    ("large-district-agreement-stable", 0, D_LARGE, 0, True, "district", False, True, "city"),
    ("large-no-agreement", G_LARGE, 0, 0, True, None, False, False, "city"),
    # highest tier wins over flags
    ("card-province-with-small-agreement", 0, 0, C_PROVINCE, True, "district", False, True, "province"),
]


@pytest.mark.parametrize(
    "g,d,c,institutional,agreement,province_procurement,stable,expected",
    [c[1:] for c in FLAG_TIER_CASES],
    ids=[c[0] for c in FLAG_TIER_CASES],
)
def test_customer_tier_flags(g, d, c, institutional, agreement, province_procurement, stable, expected):
    got = R.customer_tier(
        g, d, c, institutional=institutional, agreement=agreement,
        province_procurement=province_procurement, stable=stable,
    )
    assert got == expected


DECISION_CASES = [
    # (id, g, d, c, kwargs, tier, rule, section)
    ("procurement", 0, 0, 0, dict(institutional=True, province_procurement=True),
     "province", "province.procurement", "002 §6.3.1.1.1"),
    ("province-agreement", 0, 0, 0, dict(institutional=False, agreement="province"),
     "province", "province.agreement", "002 §6.3.1.1.2"),
    ("province-card", 0, 0, C_PROVINCE, dict(institutional=False),
     "province", "province.card", "002 §6.3.1.1.3"),
    ("city-gasoline", G_LARGE, 0, 0, dict(institutional=False),
     "city", "city.gasoline", "002 §6.3.1.2.1"),
    ("city-diesel", 0, D_LARGE, 0, dict(institutional=True),
     "city", "city.diesel", "002 §6.3.1.2.1"),
    ("city-agreement-large-by-card", 0, 0, C_LARGE, dict(institutional=True, agreement="city", stable=True),
     "city", "city.agreement", "002 §6.3.1.2.2"),
    ("city-card", 0, 0, C_LARGE, dict(institutional=True),
     "city", "city.card", "002 §6.3.1.2.3"),
    ("district-gasoline", G_MEDIUM, 0, 0, dict(institutional=True),
     "district", "district.gasoline", "002 §6.3.1.3.1"),
    ("district-diesel", 0, D_MEDIUM, 0, dict(institutional=False),
     "district", "district.diesel", "002 §6.3.1.3.1"),
    ("district-agreement", 0, 0, 0, dict(institutional=True, agreement="city", stable=True),
     "district", "district.agreement", "002 §6.3.1.3.2"),
    ("district-card", 0, 0, C_MEDIUM, dict(institutional=False),
     "district", "district.card", "002 §6.3.1.3.3"),
    ("station-institution", 1, 1, 1, dict(institutional=True),
     "station", "station.institution", "002 §6.4.1.4.1"),
    # 002 §6.4.1.4.3 个人持卡客户、其他固定客户; any other personal customer: 6.4.1.4.2 (卡年采购额 < 10万元)
    ("station-personal-fuel-card", 1, 1, 1, dict(institutional=False, card_holder=True),
     "station", "station.personal", "002 §6.4.1.4.3"),
    ("station-personal-fixed", 1, 1, 0, dict(institutional=False, fixed=True),
     "station", "station.personal", "002 §6.4.1.4.3"),
    ("station-personal-neither", 1, 1, 1, dict(institutional=False),
     "station", "station.card", "002 §6.4.1.4.2"),
    ("station-personal-neither-no-card", 0, 0, 0, dict(institutional=False),
     "station", "station.card", "002 §6.4.1.4.2"),
    ("station-institution-card-holder", 1, 1, 1, dict(institutional=True, card_holder=True, fixed=True),
     "station", "station.institution", "002 §6.4.1.4.1"),
    ("card-holder-district-volume", G_MEDIUM, 0, 0, dict(institutional=False, card_holder=True),
     "district", "district.gasoline", "002 §6.3.1.3.1"),
]


@pytest.mark.parametrize(
    "g,d,c,kwargs,tier,rule,section",
    [c[1:] for c in DECISION_CASES],
    ids=[c[0] for c in DECISION_CASES],
)
def test_tier_decision_rule_and_section(g, d, c, kwargs, tier, rule, section):
    dec = R.tier_decision(g, d, c, **kwargs)
    assert (dec.tier, dec.rule, dec.section) == (tier, rule, section)
    assert dec.rule.split(".")[0] == dec.tier  # rule ids are "<tier>.<criterion>"
    assert R.customer_tier(g, d, c, **kwargs) == dec.tier
    assert dec.tier in R.TIER_OWNER  # every tier has an owner 管理主体 (002 §6.4)


def test_effective_tier_override():
    assert R.effective_tier("station", None) == "station"
    assert R.effective_tier("station", "district") == "district"
    with pytest.raises(ValueError, match="override"):
        R.effective_tier("station", "county")


# --- 3. bad inputs ------------------------------------------------------------------------------------

BAD_NUMBERS = [
    pytest.param(-1, "negative", id="negative"),
    pytest.param(-1e-9, "negative", id="tiny-negative"),
    pytest.param(float("nan"), "finite", id="nan"),
    pytest.param(float("inf"), "finite", id="inf"),
    pytest.param(float("-inf"), "finite", id="-inf"),
    pytest.param(None, "number", id="None"),
    pytest.param("5", "number", id="string"),
    pytest.param(True, "number", id="True"),
    pytest.param(False, "number", id="False"),
    pytest.param([5], "number", id="list"),
]


@pytest.mark.parametrize("position,name", [(0, "gasoline_t"), (1, "diesel_t"), (2, "card_cny")],
                         ids=["g", "d", "c"])
@pytest.mark.parametrize("bad,message", BAD_NUMBERS)
def test_institution_size_rejects_bad_numbers(position, name, bad, message):
    args = [1.0, 1.0, 1.0]
    args[position] = bad
    with pytest.raises(ValueError, match=message) as exc:
        R.institution_size(*args)
    assert name in str(exc.value)


@pytest.mark.parametrize("position,name", [(0, "gasoline_t"), (1, "diesel_t"), (2, "card_cny")],
                         ids=["g", "d", "c"])
@pytest.mark.parametrize("bad,message", BAD_NUMBERS)
def test_customer_tier_rejects_bad_numbers(position, name, bad, message):
    args = [1.0, 1.0, 1.0]
    args[position] = bad
    with pytest.raises(ValueError, match=message) as exc:
        R.customer_tier(*args, institutional=True)
    assert name in str(exc.value)
    with pytest.raises(ValueError, match=message):
        R.tier_decision(*args, institutional=False)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(institutional=True, agreement="county"), "agreement"),
        (dict(institutional=True, agreement="Province"), "agreement"),
        (dict(institutional=True, agreement=""), "agreement"),
        (dict(institutional=1), "institutional"),
        (dict(institutional="yes"), "institutional"),
        (dict(institutional=None), "institutional"),
        (dict(institutional=True, stable=1), "stable"),
        (dict(institutional=True, stable="no"), "stable"),
        (dict(institutional=True, province_procurement=0), "province_procurement"),
        (dict(institutional=True, province_procurement=None), "province_procurement"),
    ],
    ids=["agreement-county", "agreement-capitalised", "agreement-empty", "institutional-int",
         "institutional-str", "institutional-None", "stable-int", "stable-str",
         "procurement-int", "procurement-None"],
)
def test_customer_tier_rejects_bad_flags(kwargs, message):
    with pytest.raises(ValueError, match=message):
        R.customer_tier(1, 1, 1, **kwargs)


def test_customer_tier_requires_institutional_keyword():
    with pytest.raises(TypeError):
        R.customer_tier(1, 1, 1)  # institutional is mandatory and keyword-only


# --- 4. customer code 客户代码 — 001 (Dalian) -------------------------------------------------------

CODE_CASES = [
    ("station-institutional", "370102003", "institutional", 5, 42),
    ("station-personal", "370102003", "personal", 21, 1),
    ("max-seq-class", "370102003", "institutional", 99, 999_999),
    ("class-zero", "3701", "personal", 0, 7),
    ("letters-in-unit", "SD0101A", "institutional", 12, 123_456),
    ("lowercase-unit", "sd0101a", "personal", 23, 55),
    ("one-char-unit", "9", "institutional", 1, 1),
]


@pytest.mark.parametrize("unit,kind,cls,seq", [c[1:] for c in CODE_CASES], ids=[c[0] for c in CODE_CASES])
def test_customer_code_round_trip(unit, kind, cls, seq):
    code = R.customer_code(unit, kind, cls, seq)
    assert code.isascii() and code.isalnum() and code == code.upper()
    assert len(code) == len(unit) + 1 + 2 + 6 + 1
    assert R.parse_customer_code(code) == {"unit": unit.upper(), "kind": kind, "class_code": cls, "seq": seq}
    assert R.customer_code(unit, kind, cls, seq) == code  # stable
    assert R.parse_customer_code(code.lower())["seq"] == seq  # case-insensitive on input


def test_customer_code_example_from_docstring():
    assert R.customer_code("370102003", "institutional", 5, 42).startswith("370102003J05000042")


def test_customer_code_unique_for_different_seq_and_fields():
    codes = {R.customer_code("370102003", "institutional", 5, s) for s in range(1, 3001)}
    assert len(codes) == 3000
    others = {
        R.customer_code("370102003", "personal", 5, 42),
        R.customer_code("370102003", "institutional", 6, 42),
        R.customer_code("370102004", "institutional", 5, 42),
        R.customer_code("370102003", "institutional", 5, 42),
    }
    assert len(others) == 4


SAMPLE_CODE = R.customer_code("370102003", "institutional", 5, 42)


@pytest.mark.parametrize("pos", range(len(SAMPLE_CODE)), ids=lambda p: f"pos{p}")
def test_customer_code_detects_single_typo_at_every_position(pos):
    original = SAMPLE_CODE[pos]
    for ch in string.digits + string.ascii_uppercase:
        if ch == original:
            continue
        typo = SAMPLE_CODE[:pos] + ch + SAMPLE_CODE[pos + 1:]
        with pytest.raises(ValueError):
            R.parse_customer_code(typo)


@pytest.mark.parametrize(
    "pos",
    [p for p in range(len(SAMPLE_CODE) - 1) if SAMPLE_CODE[p] != SAMPLE_CODE[p + 1]],  # swap must change it
    ids=lambda p: f"pos{p}",
)
def test_customer_code_detects_adjacent_transposition(pos):
    a, b = SAMPLE_CODE[pos], SAMPLE_CODE[pos + 1]
    swapped = SAMPLE_CODE[:pos] + b + a + SAMPLE_CODE[pos + 2:]
    with pytest.raises(ValueError):
        R.parse_customer_code(swapped)


@pytest.mark.parametrize(
    "args,message",
    [
        (("", "institutional", 5, 1), "unit"),
        ((None, "institutional", 5, 1), "unit"),
        (("37-01", "institutional", 5, 1), "unit"),
        (("37 01", "institutional", 5, 1), "unit"),
        (("站01", "institutional", 5, 1), "unit"),
        (("3701", "company", 5, 1), "kind"),
        (("3701", "J", 5, 1), "kind"),
        (("3701", "institutional", -1, 1), "class"),
        (("3701", "institutional", 100, 1), "class"),
        (("3701", "institutional", 5.0, 1), "class"),
        (("3701", "institutional", True, 1), "class"),
        (("3701", "institutional", "05", 1), "class"),
        (("3701", "institutional", 5, 0), "sequence"),
        (("3701", "institutional", 5, -1), "sequence"),
        (("3701", "institutional", 5, 1_000_000), "sequence"),
        (("3701", "institutional", 5, 1.0), "sequence"),
        (("3701", "institutional", 5, True), "sequence"),
        (("3701", "institutional", 5, "1"), "sequence"),
    ],
    ids=["unit-empty", "unit-None", "unit-dash", "unit-space", "unit-non-ascii", "kind-unknown",
         "kind-letter", "class-negative", "class-100", "class-float", "class-bool", "class-str",
         "seq-0", "seq-negative", "seq-too-big", "seq-float", "seq-bool", "seq-str"],
)
def test_customer_code_rejects_bad_arguments(args, message):
    with pytest.raises(ValueError, match=message):
        R.customer_code(*args)


def test_customer_code_rejects_non_string_unit():
    with pytest.raises(ValueError):
        R.customer_code(370102003, "institutional", 5, 1)


def _with_valid_check(body: str) -> str:
    return body + R._check_char(body)


@pytest.mark.parametrize(
    "code",
    [
        "",
        "J05000042",
        "3701020J05",  # too short
        None,
        370102003,
        SAMPLE_CODE[:-1] + "-",
        SAMPLE_CODE[:5] + " " + SAMPLE_CODE[6:],
        SAMPLE_CODE[:-1],  # check character dropped
        _with_valid_check("370102003X05000042"),  # valid check but unknown kind letter
        _with_valid_check("370102003J0A000042"),  # valid check but class not digits
        _with_valid_check("370102003J05A00042"),  # valid check but number not digits
    ],
    ids=["empty", "no-unit", "too-short", "None", "int", "symbol", "space", "no-check",
         "bad-kind-letter", "bad-class", "bad-seq"],
)
def test_parse_customer_code_rejects_malformed(code):
    with pytest.raises(ValueError):
        R.parse_customer_code(code)


@pytest.mark.parametrize(
    "kind,sub_type,expected",
    [("institutional", "mining", 5), ("institutional", "ready_mix", 7), ("personal", "private_car", 21),
     ("personal", "unknown", 99), ("institutional", "unknown", 99)],
    ids=["mining", "ready-mix", "private-car", "personal-unknown", "institutional-unknown"],
)
def test_class_code(kind, sub_type, expected):
    assert R.class_code(kind, sub_type) == expected


def test_class_code_bad_kind():
    with pytest.raises(ValueError, match="kind"):
        R.class_code("company", "mining")


# --- 5. station grade 加油站分级 — 001 (Chongqing) ---------------------------------------------------

LARGE_T_PER_DAY = 2000.0 / 365  # ≈ 5.479 t/day, the 2000 t/year large-station target


@pytest.mark.parametrize(
    "daily_t,expected",
    [
        (0, "reform"),
        (1.999999, "reform"),
        (2.0, "reform"),  # 2吨以下 includes 2 t/day (DOMAIN §9)
        (2.000001, "regular"),
        (2.999999, "regular"),
        (3.0, "graded"),
        (3.000001, "graded"),
        (5.479, "graded"),
        (math.nextafter(LARGE_T_PER_DAY, 0), "graded"),
        (LARGE_T_PER_DAY, "graded"),  # the 2000 t/year large-station target is not a grade
        (5.48, "graded"),
        (100, "graded"),
    ],
    ids=["zero", "1.999999", "at-2", "over-2", "2.999999", "at-3", "over-3", "5.479",
         "just-under-2000t-year", "at-2000t-year", "5.48", "huge"],
)
def test_station_grade(daily_t, expected):
    assert R.station_grade(daily_t) == expected


@pytest.mark.parametrize("daily_t,expected", [(0, False), (math.nextafter(LARGE_T_PER_DAY, 0), False),
                                              (LARGE_T_PER_DAY, True), (100, True)])
def test_large_station_target_is_2000_t_a_year(daily_t, expected):
    assert R.large_station_target(daily_t) is expected


@pytest.mark.parametrize("bad,message", BAD_NUMBERS)
def test_station_grade_rejects_bad_input(bad, message):
    with pytest.raises(ValueError, match=message):
        R.station_grade(bad)


# --- 6. customer managers 客户经理 — 003 §4.5–4.6 ----------------------------------------------------

J, M, S = CM["junior_t_per_year"], CM["middle_t_per_year"], CM["senior_t_per_year"]


def test_manager_thresholds_are_ordered():
    assert 0 < J < M < S


@pytest.mark.parametrize(
    "months,t,expected",
    [
        (0, 0, ("trainee", False)),
        (0, S * 10, ("trainee", False)),
        (2.99, S, ("trainee", False)),
        (3, S, ("senior", False)),
        (3, S + 1, ("senior", False)),
        (12, S - 0.01, ("middle", False)),
        (12, M, ("middle", False)),
        (12, M - 0.01, ("junior", False)),
        (12, J, ("junior", False)),
        (12, J - 0.01, ("junior", True)),  # 未达到初级标准的按初级来定级 (flagged)
        (12, 0, ("junior", True)),
        (3, 0, ("junior", True)),
    ],
    ids=["new-no-sales", "new-huge-sales", "2.99-months", "3-months-senior", "over-senior",
         "under-senior", "at-middle", "under-middle", "at-junior", "under-junior", "zero-sales",
         "3-months-zero-sales"],
)
def test_manager_level(months, t, expected):
    assert R.manager_level(months, t) == expected


@pytest.mark.parametrize("position", [0, 1], ids=["months", "tonnes"])
@pytest.mark.parametrize("bad,message", BAD_NUMBERS)
def test_manager_level_rejects_bad_input(position, bad, message):
    args = [12, 1000]
    args[position] = bad
    with pytest.raises(ValueError, match=message):
        R.manager_level(*args)


@pytest.mark.parametrize("misses,expected", [(0, False), (1, False), (2, True), (3, True)],
                         ids=["0", "1", "2", "3"])
def test_manager_transfer_due(misses, expected):
    # 003: 连续两次评级的年销量均未达到初级标准 → 转岗
    assert R.manager_transfer_due(misses) is expected


@pytest.mark.parametrize("bad", [-1, 1.0, 2.0, True, False, "2", None],
                         ids=["negative", "float-1", "float-2", "True", "False", "str", "None"])
def test_manager_transfer_due_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="consecutive_misses"):
        R.manager_transfer_due(bad)


LOW_EDGE, HIGH_EDGE = COMM["band_edges"]


@pytest.mark.parametrize("customer_type", ["institutional", "personal"])
@pytest.mark.parametrize(
    "completion,band",
    [
        (0.0, 0),
        (LOW_EDGE - 1e-6, 0),
        (LOW_EDGE, 1),
        (LOW_EDGE + 1e-6, 1),
        (HIGH_EDGE - 1e-6, 1),
        (HIGH_EDGE, 2),
        (HIGH_EDGE + 1e-6, 2),
        (2.5, 2),
    ],
    ids=["zero", "under-0.8", "at-0.8", "over-0.8", "under-1.0", "at-1.0", "over-1.0", "2.5"],
)
def test_commission_bands(customer_type, completion, band):
    # 003 §4.6.2 销售提成 = 月度成品油销量 × 吨油提成系数 (by customer type and completion rate)
    monthly_t = 120.0
    assert R.commission(monthly_t, customer_type, completion) == pytest.approx(
        monthly_t * COMM[customer_type][band]
    )
    assert R.commission(0, customer_type, completion) == 0


def test_commission_config_shape():
    assert (LOW_EDGE, HIGH_EDGE) == (0.8, 1.0)
    for kind in ("institutional", "personal"):
        coeffs = COMM[kind]
        assert len(coeffs) == 3 and list(coeffs) == sorted(coeffs)


@pytest.mark.parametrize(
    "args,message",
    [
        ((100, "company", 1.0), "customer_type"),
        ((100, None, 1.0), "customer_type"),
        ((-1, "personal", 1.0), "monthly_t"),
        ((float("nan"), "personal", 1.0), "monthly_t"),
        (("100", "personal", 1.0), "monthly_t"),
        ((100, "personal", -0.1), "plan_completion"),
        ((100, "personal", float("inf")), "plan_completion"),
        ((100, "personal", None), "plan_completion"),
        ((100, "personal", True), "plan_completion"),
    ],
    ids=["type-unknown", "type-None", "t-negative", "t-nan", "t-str", "rate-negative", "rate-inf",
         "rate-None", "rate-bool"],
)
def test_commission_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        R.commission(*args)


# --- property-based: monotone tiers, personal ≤ institutional -------------------------------------

# Mix arbitrary non-negative floats with the exact thresholds and their neighbours.
_EDGES = [G_MEDIUM, G_LARGE, D_MEDIUM, D_LARGE, C_MEDIUM, C_LARGE, C_PROVINCE]
amounts = st.one_of(
    st.floats(min_value=0, max_value=1e8, allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0] + _EDGES + [below(e) for e in _EDGES] + [above(e) for e in _EDGES]),
)
agreements = st.sampled_from(R.AGREEMENT_LEVELS)


def _rank(g, d, c, **kw) -> int:
    return TIER_ORDER[R.customer_tier(g, d, c, **kw)]


@settings(max_examples=400, deadline=None)
@given(g=amounts, d=amounts, c=amounts, dg=amounts, dd=amounts, dc=amounts,
       institutional=st.booleans(), agreement=agreements, procurement=st.booleans(), stable=st.booleans())
def test_tier_is_monotone_in_volumes(g, d, c, dg, dd, dc, institutional, agreement, procurement, stable):
    kw = dict(institutional=institutional, agreement=agreement, province_procurement=procurement, stable=stable)
    base = _rank(g, d, c, **kw)
    assert _rank(g + dg, d, c, **kw) >= base
    assert _rank(g, d + dd, c, **kw) >= base
    assert _rank(g, d, c + dc, **kw) >= base
    assert _rank(g + dg, d + dd, c + dc, **kw) >= base


@settings(max_examples=400, deadline=None)
@given(g=amounts, d=amounts, c=amounts, agreement=agreements, procurement=st.booleans(), stable=st.booleans())
def test_personal_tier_never_above_institutional(g, d, c, agreement, procurement, stable):
    kw = dict(agreement=agreement, province_procurement=procurement, stable=stable)
    personal = _rank(g, d, c, institutional=False, **kw)
    institutional = _rank(g, d, c, institutional=True, **kw)
    assert personal <= institutional
    if agreement is None and not procurement:
        # with no agreement and no province procurement only volumes and cards count: same tier
        assert personal == institutional


@settings(max_examples=300, deadline=None)
@given(g=amounts, d=amounts, c=amounts, institutional=st.booleans(), agreement=agreements,
       procurement=st.booleans(), stable=st.booleans())
def test_tier_decision_always_explained(g, d, c, institutional, agreement, procurement, stable):
    dec = R.tier_decision(g, d, c, institutional=institutional, agreement=agreement,
                          province_procurement=procurement, stable=stable)
    assert dec.tier in TIER_ORDER
    assert isinstance(dec.rule, str) and dec.rule
    assert dec.rule.startswith(dec.tier + ".")
    assert dec.section.startswith("002 §")
    # large institutions (002 §3.2.1) are at least city tier (6.3.1.2.1 / 6.3.1.2.3)
    if institutional and R.institution_size(g, d, c) == "large":
        assert TIER_ORDER[dec.tier] >= TIER_ORDER["city"]


# --- the vectorised rules (lib.rules.tier_decisions) equal the scalar ones case by case ----------

def _all_table_cases():
    """Every tier case of this file as (g, d, c, institutional, agreement, procurement, stable)."""
    out = []
    for _, g, d, c, _ in VOLUME_TIER_CASES:
        out += [(g, d, c, inst, None, False, False, False, False) for inst in (True, False)]
    for _, g, d, c, inst, agr, pp, sb, _ in FLAG_TIER_CASES:
        out.append((g, d, c, inst, agr, pp, sb, False, False))
    for _, g, d, c, kw, *_ in DECISION_CASES:
        out.append((g, d, c, kw.get("institutional"), kw.get("agreement"), kw.get("province_procurement", False),
                    kw.get("stable", False), kw.get("card_holder", False), kw.get("fixed", False)))
    return out


def _vector_vs_scalar(cases):
    cols = list(zip(*cases))
    got = R.tier_decisions(cols[0], cols[1], cols[2], institutional=cols[3], agreement=list(cols[4]),
                           province_procurement=cols[5], stable=cols[6], card_holder=cols[7], fixed=cols[8])
    for case, rule in zip(cases, got):
        g, d, c, inst, agr, pp, sb, holder, fixed = case
        want = R.tier_decision(g, d, c, institutional=inst, agreement=agr, province_procurement=pp, stable=sb,
                               card_holder=holder, fixed=fixed)
        assert (rule, R.RULE_TIER[rule], R.RULE_SECTION[rule]) == (want.rule, want.tier, want.section), case


def test_tier_decisions_equal_tier_decision_on_every_table_case():
    cases = _all_table_cases()
    assert len(cases) > 60
    _vector_vs_scalar(cases)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(amounts, amounts, amounts, st.booleans(), agreements, st.booleans(), st.booleans(),
                          st.booleans(), st.booleans()), min_size=1, max_size=40))
def test_tier_decisions_equal_tier_decision_random(cases):
    _vector_vs_scalar(cases)


# The seed sections of the tier rules (002 §6.3.1 / §6.4.1), pinned here, not read from lib.rules.
SEED_SECTIONS = {
    "province.procurement": "002 §6.3.1.1.1", "province.agreement": "002 §6.3.1.1.2",
    "province.card": "002 §6.3.1.1.3",
    "city.gasoline": "002 §6.3.1.2.1", "city.diesel": "002 §6.3.1.2.1", "city.agreement": "002 §6.3.1.2.2",
    "city.card": "002 §6.3.1.2.3",
    "district.gasoline": "002 §6.3.1.3.1", "district.diesel": "002 §6.3.1.3.1",
    "district.agreement": "002 §6.3.1.3.2", "district.card": "002 §6.3.1.3.3",
    "station.institution": "002 §6.4.1.4.1", "station.personal": "002 §6.4.1.4.3",
    "station.card": "002 §6.4.1.4.2",
}


def test_tier_rules_table_matches_decisions():
    """TIER_RULES and tier_decision agree: every rule id of the table decides at least one case of
    this file's tables, every id decided on those cases is in the table, the tier decided is the id's
    prefix, and each id carries its pinned seed section."""
    table = {r: (t, s) for r, t, s in R.TIER_RULES}
    decided = {}
    for g, d, c, inst, agr, pp, sb, holder, fixed in _all_table_cases():
        dec = R.tier_decision(g, d, c, institutional=inst, agreement=agr, province_procurement=pp, stable=sb,
                              card_holder=holder, fixed=fixed)
        assert dec.rule in table, dec.rule
        assert dec.rule.split(".")[0] == dec.tier == table[dec.rule][0], dec
        assert dec.section == table[dec.rule][1] == SEED_SECTIONS[dec.rule], dec
        decided.setdefault(dec.rule, dec.tier)
    assert sorted(table) == sorted(decided), set(table) ^ set(decided)  # no rule id without a case
    assert {r: s for r, (_, s) in table.items()} == SEED_SECTIONS
    assert len(R.TIER_RULES) == len(table)  # no rule id listed twice


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_tier_decisions_reject_bad_numbers(bad):
    with pytest.raises(ValueError):
        R.tier_decisions([1.0, bad], [0, 0], [0, 0], institutional=[True, True], agreement=[None, None],
                         province_procurement=[False, False], stable=[False, False], card_holder=[False, False],
                         fixed=[False, False])


def test_tier_decisions_reject_bad_agreement():
    with pytest.raises(ValueError, match="agreement"):
        R.tier_decisions([1.0], [0], [0], institutional=[True], agreement=["county"],
                         province_procurement=[False], stable=[False], card_holder=[False], fixed=[False])


def test_rule_ids_are_defined_once_and_used_by_both_forms():
    """Every rule id of the table can decide in the scalar form and is a condition of the vector form."""
    import inspect

    assert R.RULE_IDS == tuple(R.RULE_TIER) and len(set(R.RULE_IDS)) == len(R.RULE_IDS) == 14
    scalar, vector = inspect.getsource(R.tier_decision), inspect.getsource(R.tier_decisions)
    assert [r for r in R.RULE_IDS if f'_decided("{r}")' not in scalar] == []
    assert [r for r in R.RULE_IDS[:-1] if f'"{r}":' not in vector] == []
    with pytest.raises(KeyError):
        R._decided("city.petrol")  # a mistyped rule id cannot make a decision
