"""The rule book as pure functions (规则): sizes, tiers, codes, grades, levels, commission.

Every function cites the seed section it implements (DOMAIN.md distils them; where the two
differ the seed wins). Numbers come from `config/rules.toml` via `lib.config.rules()`.
Monthly figures are tonnes per month; card purchases 不记名卡年采购额 are CNY per year.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from lib.config import rules as _rules

SIZES = ("small", "medium", "large")  # 小型 < 中型 < 大型
TIERS = ("station", "district", "city", "province")  # 站级 < 区县级 < 地市级 < 省级
AGREEMENT_LEVELS = (None, "province", "city", "district")
CARD_PAYMENTS = ("fuel_card", "bank_card")  # 持卡客户 (002 §6.2.3): card holders for the station rule 6.4.1.4.3

# Owner of each tier 管理主体 — 002 §6.4.1–6.4.4.
TIER_OWNER = {
    "province": "province_office",  # 6.4.1 公司加管处
    "city": "city_retail_dept",  # 6.4.2 所属单位零售管理部门
    "district": "area_manager",  # 6.4.3 片区经理
    "station": "station_manager",  # 6.4.4 加油站经理及站内员工
}
# The org level 层级 of each tier's owner (lib.auth.LEVELS): a tier-L customer is owned by the unit at level L
# (6.4.1 加管处 is the province office, 6.4.2 the city branch, 6.4.3 the area 片区, 6.4.4 the station).
TIER_OWNER_LEVEL = {"province": "province", "city": "city", "district": "district", "station": "station"}


def _amount(name: str, value) -> float:
    """Return `value` as a float, or raise ValueError for negative, NaN, infinite or non-numbers."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a number, got {value!r}")
    value = float(value)
    if math.isnan(value) or math.isinf(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must not be negative, got {value!r}")
    return value


def _flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


# --- 机构客户规模 institution size — 002 §3.2.1–3.2.3 ------------------------------------------


def institution_size(gasoline_t: float, diesel_t: float, card_cny: float) -> str:
    """Return the size 规模 of an institutional customer: "large", "medium" or "small".

    Each criterion (monthly gasoline t, monthly diesel t, yearly anonymous-card CNY) gives a size and
    the customer takes the largest (002 §3.2.1 大型 "…5吨及以上、…50吨及以上、…100万元及以上";
    §3.2.2 中型 "2吨(含2吨)至5吨…20吨(含20吨)至50吨…10万元(含10万元)至100万元"; §3.2.3 小型).
    """
    return institution_size_explained(gasoline_t, diesel_t, card_cny)[0]


def institution_size_explained(gasoline_t: float, diesel_t: float, card_cny: float) -> tuple[str, str]:
    """Return (size, rule id) where the rule id names the criterion that decided the size."""
    g = _amount("gasoline_t", gasoline_t)
    d = _amount("diesel_t", diesel_t)
    c = _amount("card_cny", card_cny)
    p = _rules()["institution_size"]
    if g >= p["large_gasoline_t"]:
        return "large", "size.large.gasoline"  # 002 §3.2.1
    if d >= p["large_diesel_t"]:
        return "large", "size.large.diesel"  # 002 §3.2.1
    if c >= p["large_card_cny"]:
        return "large", "size.large.card"  # 002 §3.2.1
    if g >= p["medium_gasoline_t"]:
        return "medium", "size.medium.gasoline"  # 002 §3.2.2
    if d >= p["medium_diesel_t"]:
        return "medium", "size.medium.diesel"  # 002 §3.2.2
    if c >= p["medium_card_cny"]:
        return "medium", "size.medium.card"  # 002 §3.2.2
    return "small", "size.small"  # 002 §3.2.3


# --- 客户分级 customer tier — 002 §6.3.1 ---------------------------------------------------------


@dataclass(frozen=True)
class TierDecision:
    """A tier and the rule that decided it (rule id such as "6.3.1.2.1-gasoline")."""

    tier: str
    rule: str
    section: str  # seed section, e.g. "002 §6.3.1.2.1"


def customer_tier(
    gasoline_t: float,
    diesel_t: float,
    card_cny: float,
    *,
    institutional: bool,
    agreement: str | None = None,
    province_procurement: bool = False,
    stable: bool = False,
    card_holder: bool = False,
    fixed: bool = False,
) -> str:
    """Return the tier 客户分级: "province", "city", "district" or "station" (002 §6.3.1).

    The tier is the highest level any rule matches. `agreement` is the level of the unit that
    signed the supply agreement (None, "province", "city" or "district"); `stable` means stable
    consumption 消费稳定; `card_holder` / `fixed` decide which station-tier rule applies (tier_decision).
    """
    return tier_decision(
        gasoline_t, diesel_t, card_cny, institutional=institutional, agreement=agreement,
        province_procurement=province_procurement, stable=stable, card_holder=card_holder, fixed=fixed,
    ).tier


# Every tier rule id with its tier and seed section, in the order tier_decision checks them.
TIER_RULES = (
    ("province.procurement", "province", "002 §6.3.1.1.1"),
    ("province.agreement", "province", "002 §6.3.1.1.2"),
    ("province.card", "province", "002 §6.3.1.1.3"),
    ("city.gasoline", "city", "002 §6.3.1.2.1"),
    ("city.diesel", "city", "002 §6.3.1.2.1"),
    ("city.agreement", "city", "002 §6.3.1.2.2"),
    ("city.card", "city", "002 §6.3.1.2.3"),
    ("district.gasoline", "district", "002 §6.3.1.3.1"),
    ("district.diesel", "district", "002 §6.3.1.3.1"),
    ("district.agreement", "district", "002 §6.3.1.3.2"),
    ("district.card", "district", "002 §6.3.1.3.3"),
    ("station.institution", "station", "002 §6.4.1.4.1"),
    ("station.personal", "station", "002 §6.4.1.4.3"),
    ("station.card", "station", "002 §6.4.1.4.2"),
)
RULE_IDS = tuple(r for r, _, _ in TIER_RULES)  # the vocabulary of rule ids (lib.vocab)
RULE_TIER = {r: t for r, t, _ in TIER_RULES}
RULE_SECTION = {r: s for r, _, s in TIER_RULES}


def _decided(rule: str) -> TierDecision:
    """The decision of a rule id: its tier and seed section come from TIER_RULES (KeyError on a typo)."""
    return TierDecision(RULE_TIER[rule], rule, RULE_SECTION[rule])


def tier_decision(
    gasoline_t: float,
    diesel_t: float,
    card_cny: float,
    *,
    institutional: bool,
    agreement: str | None = None,
    province_procurement: bool = False,
    stable: bool = False,
    card_holder: bool = False,
    fixed: bool = False,
) -> TierDecision:
    """Return the tier with the rule that decided it, checking rules from the highest tier down.

    Station tier 站级 (002 §6.4.1.4) has three rules: 6.4.1.4.1 institutions below the district
    figures; 6.4.1.4.3 "个人持卡客户、其他固定客户": personal customers paying by card (`card_holder`:
    fuel card or bank card, 6.2.3 持卡客户包括加油卡客户和银行卡客户) or fixed 固定 (`fixed`: loyalty
    "fixed"); 6.4.1.4.2 "不记名卡年采购额在10万元以下的客户" for every other customer. Reading: the seed
    sets no lower bound (none bought is below 10万元), and DOMAIN §3 puts "everything else" at station
    tier, so a personal customer that is neither card holder nor fixed customer keeps station tier,
    decided by 6.4.1.4.2 ("station.card"), not by 6.4.1.4.3: no customer is left without a tier.
    """
    g = _amount("gasoline_t", gasoline_t)
    d = _amount("diesel_t", diesel_t)
    c = _amount("card_cny", card_cny)
    institutional = _flag("institutional", institutional)
    province_procurement = _flag("province_procurement", province_procurement)
    stable = _flag("stable", stable)
    card_holder, fixed = _flag("card_holder", card_holder), _flag("fixed", fixed)
    if agreement not in AGREEMENT_LEVELS:
        raise ValueError(f"agreement must be one of None, 'province', 'city', 'district', got {agreement!r}")
    p = _rules()["tier"]

    # 省级 province — 002 §6.3.1.1
    if institutional and province_procurement:
        return _decided("province.procurement")
    if agreement == "province":
        return _decided("province.agreement")
    if c >= p["province_card_cny"]:
        return _decided("province.card")

    # 地市级 city — 002 §6.3.1.2 (volume rules hold for institutional and personal customers alike)
    if g >= p["city_gasoline_t"]:
        return _decided("city.gasoline")
    if d >= p["city_diesel_t"]:
        return _decided("city.diesel")
    size = institution_size(g, d, c) if institutional else None
    # 6.3.1.2.2 (large institution, agreement with the city branch, stable use) can never decide:
    # "large" already means G ≥ 5, D ≥ 50 or C ≥ 1,000,000, and each of those made it city above.
    if size == "large" and agreement == "city" and stable:
        return _decided("city.agreement")
    if c >= p["city_card_cny"]:
        return _decided("city.card")

    # 区县级 district — 002 §6.3.1.3
    if g >= p["district_gasoline_t"]:
        return _decided("district.gasoline")
    if d >= p["district_diesel_t"]:
        return _decided("district.diesel")
    if size in ("small", "medium") and agreement is not None and stable:
        return _decided("district.agreement")
    if c >= p["district_card_cny"]:
        return _decided("district.card")

    # 站级 station — 002 §6.4.1.4 (numbered so in the seed; it continues §6.3.1)
    if institutional:
        return _decided("station.institution")
    if card_holder or fixed:  # 6.4.1.4.3 个人持卡客户、其他固定客户
        return _decided("station.personal")
    return _decided("station.card")  # 6.4.1.4.2 不记名卡年采购额在10万元以下的客户 (none included)




def tier_decisions(gasoline_t, diesel_t, card_cny, *, institutional, agreement, province_procurement, stable,
                   card_holder, fixed):
    """Vectorised `tier_decision` for many customers at once (numpy arrays of equal length).

    The same rules in the same order with the same config numbers (002 §6.3.1, §3.2 for the size),
    for the per-customer monthly summary of a whole province (lib.summary); tests/test_rules.py
    checks it equals `tier_decision` case by case. `agreement` holds None or a level string;
    `card_holder` (payment by fuel or bank card) and `fixed` (loyalty fixed) pick the station rule.
    Returns an array of rule ids (object); map them with RULE_TIER and RULE_SECTION.
    """
    import numpy as np
    import pandas as pd

    g, d, c = (np.asarray(a, dtype=float) for a in (gasoline_t, diesel_t, card_cny))
    if len(g) and (not np.isfinite(np.concatenate([g, d, c])).all() or (np.minimum(np.minimum(g, d), c) < 0).any()):
        raise ValueError("gasoline_t, diesel_t and card_cny must be finite and not negative")
    inst = np.asarray(institutional, dtype=bool)
    pp = np.asarray(province_procurement, dtype=bool)
    st = np.asarray(stable, dtype=bool)
    holder = np.asarray(card_holder, dtype=bool) | np.asarray(fixed, dtype=bool)  # 002 §6.4.1.4.3
    codes, levels = pd.factorize(pd.Series(agreement, dtype=object))  # None → -1
    levels = levels.tolist()
    bad = set(levels) - set(AGREEMENT_LEVELS)
    if bad:
        raise ValueError(f"agreement must be one of None, 'province', 'city', 'district', got {sorted(map(str, bad))}")

    def agreed_with(level: str):
        return codes == levels.index(level) if level in levels else np.zeros(len(codes), dtype=bool)

    p, s = _rules()["tier"], _rules()["institution_size"]
    large = (g >= s["large_gasoline_t"]) | (d >= s["large_diesel_t"]) | (c >= s["large_card_cny"])
    conditions = {  # rule id → when it holds; the first that holds decides (the last rule is the default)
        "province.procurement": inst & pp,
        "province.agreement": agreed_with("province"),
        "province.card": c >= p["province_card_cny"],
        "city.gasoline": g >= p["city_gasoline_t"],
        "city.diesel": d >= p["city_diesel_t"],
        "city.agreement": inst & large & agreed_with("city") & st,
        "city.card": c >= p["city_card_cny"],
        "district.gasoline": g >= p["district_gasoline_t"],
        "district.diesel": d >= p["district_diesel_t"],
        "district.agreement": inst & ~large & (codes >= 0) & st,  # size small or medium, any agreement
        "district.card": c >= p["district_card_cny"],
        "station.institution": inst,
        "station.personal": holder,  # 6.4.1.4.3; the rest: 6.4.1.4.2 (station.card, the default)
    }
    ordered = RULE_IDS[:-1]  # TIER_RULES' order; KeyError if a rule id is missing above
    return np.select([conditions[r] for r in ordered], ordered, default=RULE_IDS[-1]).astype(object)


def effective_tier(computed: str, override: str | None) -> str:
    """Return the tier in force: a manual override (002 §6.1.1 上下级转移) wins over the computed one."""
    if override is not None and override not in TIERS:
        raise ValueError(f"tier override must be one of {TIERS}, got {override!r}")
    return override or computed


# --- 客户代码 customer code — 001 (Dalian 客户代码制) -----------------------------------------------

KIND_LETTER = {"institutional": "J", "personal": "G"}  # 机构 / 个人
_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _check_char(body: str) -> str:
    """ISO 7064 MOD 37-36 style check character over digits and capital letters."""
    m = 36
    p = m
    for ch in body:
        p = (p + _CODE_ALPHABET.index(ch)) % m or m
        p = (p * 2) % (m + 1)
    return _CODE_ALPHABET[(m + 1 - p) % m]


def customer_code(unit_code: str, kind: str, class_code: int, seq: int) -> str:
    """Return the customer code 客户代码: unit, kind letter, 2-digit class, 6-digit number, check char.

    001 (Dalian): "按客户分类原则对每个客户进行编码", unique and stable so that no two units claim one
    customer. The code keeps the unit where the customer was registered even if it moves later.
    Example: station 370102003, institutional class 05, number 42 → "370102003J05000042" + check.
    """
    if not isinstance(unit_code, str) or not unit_code.isalnum() or not unit_code.isascii():
        raise ValueError(f"unit code must be letters and digits, got {unit_code!r}")
    if kind not in KIND_LETTER:
        raise ValueError(f"kind must be 'institutional' or 'personal', got {kind!r}")
    if isinstance(class_code, bool) or not isinstance(class_code, int) or not 0 <= class_code <= 99:
        raise ValueError(f"class code must be an integer 0–99, got {class_code!r}")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 1 <= seq <= 999_999:
        raise ValueError(f"sequence must be an integer 1–999999, got {seq!r}")
    body = f"{unit_code.upper()}{KIND_LETTER[kind]}{class_code:02d}{seq:06d}"
    return body + _check_char(body)


def parse_customer_code(code: str) -> dict:
    """Split a customer code into unit, kind, class and number; ValueError if malformed or mistyped."""
    if not isinstance(code, str) or len(code) < 11 or not code.isalnum() or not code.isascii():
        raise ValueError(f"not a customer code: {code!r}")
    body, check = code[:-1].upper(), code[-1].upper()
    if _check_char(body) != check:
        raise ValueError(f"customer code {code!r} has a wrong check character (typo?)")
    unit, letter, cls, seq = body[:-9], body[-9], body[-8:-6], body[-6:]
    kinds = {v: k for k, v in KIND_LETTER.items()}
    if letter not in kinds or not cls.isdigit() or not seq.isdigit():
        raise ValueError(f"not a customer code: {code!r}")
    return {"unit": unit, "kind": kinds[letter], "class_code": int(cls), "seq": int(seq)}


# Class codes 分类代码 of the customer code: institutional nature / personal sub-type (002 §6.2).
CLASS_CODES = {
    "institutional": {
        "government": 1, "enterprise": 2, "transport": 3, "construction": 4, "mining": 5,
        "oilfield": 6, "ready_mix": 7, "bus_company": 8, "taxi_company": 9, "logistics": 10,
        "agriculture": 11, "redistribution": 12, "other": 99,
    },
    "personal": {"private_car": 21, "individual_transport": 22, "individual_production": 23, "other": 99},
}


def class_code(kind: str, sub_type: str) -> int:
    """Return the 2-digit class code for a customer kind and sub-type (unknown sub-types: 99)."""
    if kind not in CLASS_CODES:
        raise ValueError(f"kind must be 'institutional' or 'personal', got {kind!r}")
    return CLASS_CODES[kind].get(sub_type, 99)


# --- 加油站分级 station grade — 001 (Chongqing) ----------------------------------------------------


def station_grade(daily_sales_t: float) -> str:
    """Return the station grade 加油站分级: "graded" (≥ 3 t/day, 分级管理), "reform" (≤ 2 t/day, 改革候选:
    lease, contract, entrusted operation) or "regular" between them.

    001 Chongqing: "对日销量3吨以上的加油站实行分级管理 … 对日销量2吨以下的站 … 采取租赁、承包、委托经营";
    以上/以下 include the number (DOMAIN §9), so 3 t/day is graded and 2 t/day is a reform candidate.
    The 2000 t/year large-station target is not a grade (`large_station_target`).
    """
    t = _amount("daily_sales_t", daily_sales_t)
    p = _rules()["station_grade"]
    if t >= p["graded_t_per_day"]:
        return "graded"
    if t <= p["reform_t_per_day"]:
        return "reform"
    return "regular"


def large_station_target(daily_sales_t: float) -> bool:
    """Whether a station reaches the large-station cultivation target 大站培育目标 (2000 t/year or more,
    001 Chongqing "2000吨以上加油站的培育目标"): a target for chosen stations, not a grade (DOMAIN §9)."""
    return _amount("daily_sales_t", daily_sales_t) * 365 >= _rules()["station_grade"]["large_t_per_year"]


# --- 客户经理 customer manager level and commission — 003 §4 -------------------------------------

MANAGER_LEVELS = ("trainee", "junior", "middle", "senior")  # 见习 初级 中级 高级


def manager_level(months_employed: float, last_year_t: float, *, confirmed: bool = True) -> tuple[str, bool]:
    """Return (level, below_standard) for a customer manager 客户经理.

    003: trainee 见习 during the first 3 months; "见习经理人在实习期满后,被业务运作部认定为合格,即可转正,
    成为初级经理人": a trainee becomes regular only when the business department confirms it
    (`confirmed` False: still a trainee however long, see `confirmation_due`; lib.managers.confirm);
    then graded once a year by last year's volume; "未达到初级标准的按初级来定级" — below the junior
    standard still rates junior, flagged (two flags in a row → transfer, see `manager_transfer_due`).
    """
    months = _amount("months_employed", months_employed)
    t = _amount("last_year_t", last_year_t)
    confirmed = _flag("confirmed", confirmed)
    p = _rules()["customer_manager"]
    if months < p["trainee_months"] or not confirmed:
        return "trainee", False
    if t >= p["senior_t_per_year"]:
        return "senior", False
    if t >= p["middle_t_per_year"]:
        return "middle", False
    return "junior", t < p["junior_t_per_year"]


def confirmation_due(months_employed: float, level: str) -> bool:
    """Whether a trainee 见习经理 awaits the business department's confirmation 转正 (003): still a
    trainee after the trainee period (config `customer_manager.trainee_months`)."""
    months = _amount("months_employed", months_employed)
    return level == "trainee" and months >= _rules()["customer_manager"]["trainee_months"]


def manager_transfer_due(consecutive_misses: int) -> bool:
    """003: "若连续两次评级的年销量均未达到初级标准,要求将不符合要求的客户经理转岗"."""
    if isinstance(consecutive_misses, bool) or not isinstance(consecutive_misses, int) or consecutive_misses < 0:
        raise ValueError(f"consecutive_misses must be a non-negative integer, got {consecutive_misses!r}")
    return consecutive_misses >= _rules()["customer_manager"]["transfer_after_misses"]


def commission(monthly_t: float, customer_type: str, plan_completion: float) -> float:
    """Return the commission 销售提成 in CNY: monthly volume × per-tonne coefficient (003 §4.6.2).

    The coefficient depends on the customer type ("institutional"/"personal") and the plan
    completion rate band (config `customer_manager.commission_cny_per_t`).
    """
    t = _amount("monthly_t", monthly_t)
    rate = _amount("plan_completion", plan_completion)
    p = _rules()["customer_manager"]["commission_cny_per_t"]
    if customer_type not in ("institutional", "personal"):
        raise ValueError(f"customer_type must be 'institutional' or 'personal', got {customer_type!r}")
    band = sum(rate >= edge for edge in p["band_edges"])
    return t * p[customer_type][band]
