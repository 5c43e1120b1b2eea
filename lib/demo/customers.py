"""Stage 3, customers 客户: who the customers are, what they buy, their status, tier, development
and churn months, names, codes, places and customer managers, classified by the rule book (lib.rules).

`build` runs the steps in a fixed order on one random generator (the order of draws is what makes a
seed reproduce the same province) and returns `Customers`: the customer rows as a frame and the
arrays the later stages (consumption, work) read.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import shapely

from lib import months, rules
from lib.auth import manager_scope
from lib.demo.common import (
    CC_CHARS,
    KM_PER_DEG_LAT,
    Ids,
    Period,
    Reporter,
    credit_code,
    frame,
    km_per_deg_lon,
    opt,
    person_names,
    phones,
    random_points_in,
)
from lib.demo.stations import Org
from lib.demo.words import (
    AGENCIES,
    BRAND_WORDS,
    COMPETITORS,
    ENTERPRISE_INDUSTRY,
    INST_DEMAND_SCALE,
    INSTITUTIONAL,
    LOST_REASONS,
    OVERRIDE_REASONS,
    PERSONAL,
    PROVINCE_ACCOUNTS,
    SUFFIX_P,
    SUFFIXES,
    TRADES,
)

STATUSES = ("existing", "potential", "competitor", "lost")
PAYMENTS = np.array(["fuel_card", "bank_card", "cash"], dtype=object)


@dataclass
class Draft:
    """The customers' attributes, one array per attribute, filled step by step (index = customer)."""

    N: int
    M: int
    arrays: dict[str, np.ndarray] = field(default_factory=dict)
    key_names: dict[int, str] = field(default_factory=dict)  # province-wide accounts 全省性机构

    def __getattr__(self, name: str):
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    def set(self, **arrays) -> None:
        self.arrays.update(arrays)


@dataclass
class Customers:
    """The customer rows 客户 and what later stages need of them (`attrs`: arrays by customer index)."""

    rows: pd.DataFrame
    attrs: dict
    counts: dict


def build(rng: np.random.Generator, ids: Ids, org: Org, period: Period, n: int, report: Reporter) -> Customers:
    """Draw `n` customers over the stations of `org` for the months of `period`."""
    x = Draft(n, period.n)
    st = org.stations
    place(rng, x, st)
    demand(rng, x, *classify(rng, x))
    relationship(rng, x)
    key_accounts(rng, x, st)
    report(0.11, "customers")
    value_and_loyalty(rng, x)
    personal_development(rng, x, org)
    institutional_development(rng, x, org)
    rule_book(x)  # after development: a developed institution's supply agreement decides its tier too
    churn(rng, x)
    rule_book(x)  # after payment and loyalty are final: they pick the station rule (002 §6.4.1.4.3)
    names(rng, x, st)
    credit_codes(rng, x, st)
    codes(x, st)
    report(0.15, "customers")
    locations(rng, x, st)
    assign_managers(rng, x, st)
    overrides(rng, x, org.cities, period.as_of)
    created_at(rng, x, period)
    return assemble(ids, x, st, period)


def place(rng: np.random.Generator, x: Draft, st: list[dict]) -> None:
    """Customers per station (lognormal station size, bigger near the city centre); 15 % institutions."""
    N = x.N
    w = np.exp(rng.normal(0, 0.75, len(st))) * np.array([1.6 if s["dist_km"] < 10 else 1.0 for s in st])
    per = rng.multinomial(N, w / w.sum())
    sidx = np.repeat(np.arange(len(st)), per)
    inst = rng.random(N) < 0.15
    x.set(per=per, sidx=sidx, starts=np.concatenate([[0], np.cumsum(per)]), inst=inst,
          kind=np.where(inst, "institutional", "personal"))


def classify(rng: np.random.Generator, x: Draft) -> tuple[np.ndarray, ...]:
    """Sub-type 机构性质/个人类型, industry and fuel segment; return demand shares and medians (t/month)."""
    N, inst = x.N, x.inst
    sub_type = np.empty(N, dtype=object)
    p_g = np.zeros(N)
    med_g = np.zeros(N)
    p_d = np.zeros(N)
    med_d = np.zeros(N)
    industry = np.empty(N, dtype=object)
    segment = np.empty(N, dtype=object)
    for mask, table in ((inst, INSTITUTIONAL), (~inst, PERSONAL)):
        keys = list(table)
        share = np.array([table[k][0] for k in keys])
        pick = rng.choice(len(keys), int(mask.sum()), p=share / share.sum())
        idx = np.nonzero(mask)[0]
        for j, key in enumerate(keys):
            sel = idx[pick == j]
            _, pg, mg, pd_, md, ind, segs = table[key]
            sub_type[sel] = key
            p_g[sel], med_g[sel], p_d[sel], med_d[sel] = pg, mg, pd_, md
            industry[sel] = ind
            segment[sel] = np.array(segs, dtype=object)[rng.integers(0, len(segs), len(sel))]
    taxi = (sub_type == "private_car") & (rng.random(N) < 0.05)
    segment[taxi] = "taxi"
    moto = (sub_type == "private_car") & (rng.random(N) < 0.03)
    segment[moto] = "motorcycle"
    x.set(sub_type=sub_type, industry=industry, segment=segment)
    return p_g, med_g, p_d, med_d


def demand(rng: np.random.Generator, x: Draft, p_g, med_g, p_d, med_d) -> None:
    """Monthly gasoline and diesel demand (t) and yearly anonymous-card purchase 不记名卡年采购额 (CNY)."""
    N, inst = x.N, x.inst
    sigma = np.where(inst, 1.1, 0.55)
    scale = np.where(inst, INST_DEMAND_SCALE, 1.0)
    med_g, med_d = med_g * scale, med_d * scale
    has_g = rng.random(N) < p_g
    has_d = rng.random(N) < p_d
    none = ~has_g & ~has_d
    has_g |= none & (med_g >= med_d)
    has_d |= none & (med_g < med_d)
    g = np.where(has_g, med_g * np.exp(rng.normal(0, 1, N) * sigma), 0.0)
    d = np.where(has_d, med_d * np.exp(rng.normal(0, 1, N) * sigma), 0.0)
    g = np.round(g, 3)
    d = np.round(d, 3)
    g[has_g & (g == 0)] = 0.001
    d[has_d & (d == 0)] = 0.001
    has_card = rng.random(N) < np.where(inst, 0.6, 0.25)
    card = np.where(has_card, np.where(inst, 25_000, 2_500) * np.exp(rng.normal(0, 1, N) * np.where(inst, 1.3, 1.0)), 0.0)
    x.set(g=g, d=d, card=np.round(card, -2))


def relationship(rng: np.random.Generator, x: Draft) -> None:
    """Status 存量/潜在/竞争对手/流失, payment, agreements 协议 and stable consumption 稳定消费."""
    N, inst = x.N, x.inst
    status = rng.choice(np.array(STATUSES, dtype=object), N, p=[0.80, 0.10, 0.05, 0.05])
    pay = np.where(inst, rng.choice(PAYMENTS, N, p=[0.85, 0.10, 0.05]), rng.choice(PAYMENTS, N, p=[0.75, 0.15, 0.10]))
    agreement = np.full(N, None, dtype=object)
    stable = np.zeros(N, dtype=bool)
    r = rng.random(N)
    agreement[inst & (r < 0.012)] = "city"
    agreement[inst & (r >= 0.012) & (r < 0.07)] = "district"
    stable[inst] = rng.random(int(inst.sum())) < 0.45
    stable[(agreement == "district") & (rng.random(N) < 0.75)] = True
    x.set(status=status, pay=pay, agreement=agreement, stable=stable, province_proc=np.zeros(N, dtype=bool))


def key_accounts(rng: np.random.Generator, x: Draft, st: list[dict]) -> None:
    """A few province-wide institutions 全省性机构 (one tier rule each) and one city- and one
    district-level fleet, so that every tier of 002 §6.3.1 has customers."""
    inst_idx = np.nonzero(x.inst)[0]
    if len(inst_idx) < 8:
        return
    n_key = int(min(40, max(3, round(0.001 * len(inst_idx)))))
    key = rng.choice(inst_idx, n_key + 2, replace=False)
    for j, c in enumerate(key[:n_key].tolist()):
        x.status[c] = "existing"
        x.pay[c] = "fuel_card"
        city = st[x.sidx[c]]["district"]["city"]["name"]
        x.key_names[c] = PROVINCE_ACCOUNTS[j % len(PROVINCE_ACCOUNTS)].format(c=city)
        gov = "交通运输厅" in x.key_names[c]
        x.sub_type[c] = "government" if gov else "enterprise"
        x.industry[c] = "public_administration" if gov else "utilities"
        x.segment[c] = "unit"
        x.agreement[c] = None
        if j % 3 == 0:
            x.province_proc[c] = True  # 省公司统一采购的全省性机构
        elif j % 3 == 1:
            x.agreement[c] = "province"  # 省公司签订协议
        else:
            x.card[c] = float(np.round(rng.uniform(2.05e7, 3.5e7), -3))  # 不记名卡 ≥ 2000 万元
        x.g[c] = max(x.g[c], round(float(rng.uniform(3, 12)), 3))
        x.stable[c] = True
    city_c, dist_c = key[n_key:].tolist()
    x.status[city_c] = x.status[dist_c] = "existing"
    x.d[city_c] = round(float(rng.uniform(55, 90)), 3)  # a large transport fleet → 地市级
    x.sub_type[city_c] = "transport"
    x.industry[city_c] = "transport"
    x.segment[city_c] = "long_distance"
    x.d[dist_c] = round(float(rng.uniform(22, 45)), 3)  # → 区县级


def rule_book(x: Draft) -> None:
    """Fuel, tier 客户分级 and size 规模 by the rule book, one call per customer (002 §6.3.1, §3.2)."""
    g, d = x.g, x.d
    fuel = np.where((g > 0) & (d > 0), "both", np.where(d > 0, "diesel", "gasoline")).astype(object)
    g_l, d_l, c_l = g.tolist(), d.tolist(), x.card.tolist()
    inst_l, agr_l, pp_l, stb_l = x.inst.tolist(), x.agreement.tolist(), x.province_proc.tolist(), x.stable.tolist()
    holder_l = [p in rules.CARD_PAYMENTS for p in x.pay.tolist()]
    fixed_l = [v == "fixed" for v in x.loyalty.tolist()]
    tiers, tier_rules, sizes = [], [], []
    for i in range(x.N):
        dec = rules.tier_decision(g_l[i], d_l[i], c_l[i], institutional=inst_l[i], agreement=agr_l[i],
                                  province_procurement=pp_l[i], stable=stb_l[i], card_holder=holder_l[i],
                                  fixed=fixed_l[i])
        tiers.append(dec.tier)
        tier_rules.append(dec.rule)
        sizes.append(rules.institution_size(g_l[i], d_l[i], c_l[i]) if inst_l[i] else None)
    x.set(fuel=fuel, tiers=tiers, tier_rules=tier_rules, sizes=sizes)


def value_and_loyalty(rng: np.random.Generator, x: Draft) -> None:
    """Value class 一/二/三/四类 by yearly demand (t, card money at ~8,000 CNY/t) and loyalty 忠诚度."""
    yearly_t = 12 * (x.g + x.d) + x.card / 8000
    value_class = np.select([yearly_t >= 600, yearly_t >= 120, yearly_t >= 24], [1, 2, 3], 4)
    loyalty = np.select(
        [x.status == "existing", x.status == "lost"],
        [np.where(rng.random(x.N) < 0.65, "fixed", "floating"), "lost"], "potential").astype(object)
    is_key = np.zeros(x.N, dtype=bool)
    is_key[list(x.key_names)] = True
    x.set(value_class=value_class, loyalty=loyalty, is_key=is_key,
          consuming=(x.status == "existing") | (x.status == "lost"), dev=np.full(x.N, -1))


def personal_development(rng: np.random.Generator, x: Draft, org: Org) -> None:
    """Development month 开发 of new personal card customers: ~11 a station a month (target 10)."""
    card_pay = (x.pay == "fuel_card") | (x.pay == "bank_card")
    for si in range(org.n_stations):
        lo, hi = x.starts[si], x.starts[si + 1]
        pool = np.nonzero(x.consuming[lo:hi] & ~x.inst[lo:hi] & card_pay[lo:hi])[0] + lo
        pool = rng.permutation(pool)
        budget = int(0.75 * len(pool))
        used = 0
        for mo in range(x.M - 1, -1, -1):  # from the latest month back
            k = min(int(rng.poisson(11)), budget - used)
            if k <= 0:
                break
            x.dev[pool[used:used + k]] = mo
            used += k


def institutional_development(rng: np.random.Generator, x: Draft, org: Org) -> None:
    """Development month of new institutions: 0–2 a district a month (target ≥ 1)."""
    st_district = np.array([org.districts.index(s["district"]) for s in org.stations])
    cust_district = st_district[x.sidx]
    for di in range(len(org.districts)):
        pool = rng.permutation(np.nonzero(x.consuming & x.inst & ~x.is_key & (cust_district == di))[0])
        used = 0
        budget = int(0.6 * len(pool))
        for mo in range(x.M - 1, -1, -1):
            k = min(int(rng.choice([0, 1, 1, 1, 2, 2])), budget - used)
            if k <= 0:
                if used >= budget:
                    break
                continue
            x.dev[pool[used:used + k]] = mo
            used += k
    agreements_of_developed(x)


def agreements_of_developed(x: Draft) -> None:
    """An institution counts as developed only with its supply agreement (002 §6.5.4.5: 单位客户开发成功后
    均须与其签订供油协议): most developed institutions get one, with the city branch when large, else with
    the district; about one in ten (by id) is left without, so the plan page's "developed without
    agreement" figure is seen. No random draws: the demo's stream stays as it was."""
    developed = np.nonzero(x.inst & (x.dev >= 0) & np.array([a is None for a in x.agreement], dtype=bool))[0]
    for i in developed.tolist():
        if i % 10 == 3:
            continue
        big = rules.institution_size(float(x.g[i]), float(x.d[i]), float(x.card[i])) == "large"
        x.agreement[i] = "city" if big else "district"


def churn(rng: np.random.Generator, x: Draft) -> None:
    """Churn 流失: the month lost (after being developed), reason, competitor, and a few customers
    declining (1) or silent (2) in the last months (churn early warning 流失预警)."""
    N, M, dev, status = x.N, x.M, x.dev, x.status
    lost = np.full(N, -1)
    lo_from = np.maximum(dev + 2, 1)
    is_lost = status == "lost"
    can = is_lost & (lo_from <= M - 1)
    lost[can] = rng.integers(lo_from[can], M)
    cannot = is_lost & ~can
    status[cannot] = "existing"  # developed too late to be lost already
    x.loyalty[cannot] = "floating"
    is_lost = status == "lost"
    lost_reason = np.array(LOST_REASONS, dtype=object)[rng.integers(0, len(LOST_REASONS), N)]
    competitor = np.array(COMPETITORS, dtype=object)[rng.integers(0, len(COMPETITORS), N)]
    has_comp = (status == "competitor") | (is_lost & (rng.random(N) < 0.7))
    trend = np.where((status == "existing") & (dev < M - 4), rng.choice([0, 1, 2], N, p=[0.95, 0.035, 0.015]), 0)
    x.set(lost=lost, is_lost=is_lost, lost_reason=lost_reason, competitor=competitor, has_comp=has_comp,
          trend=trend)


def names(rng: np.random.Generator, x: Draft, st: list[dict]) -> None:
    """Names 名称: persons for personal customers, agencies and companies for institutions; contacts."""
    N, inst, sub_type = x.N, x.inst, x.sub_type
    out = np.array(person_names(rng, N), dtype=object)
    contact = np.full(N, "", dtype=object)
    contact[inst] = np.array(person_names(rng, int(inst.sum())), dtype=object)
    brand = rng.integers(0, len(BRAND_WORDS), N).tolist()
    suffix = rng.choice(len(SUFFIXES), N, p=SUFFIX_P).tolist()
    pick = rng.integers(0, 1000, N).tolist()
    for i in np.nonzero(inst)[0].tolist():
        s = st[x.sidx[i]]
        cname = s["district"]["city"]["name"]
        if i in x.key_names:
            out[i] = x.key_names[i]
        elif sub_type[i] == "government":
            out[i] = f"{cname}市{s['district']['name']}{AGENCIES[pick[i] % len(AGENCIES)]}"
        else:
            trades = TRADES[sub_type[i]]
            trade = trades[pick[i] % len(trades)]
            out[i] = f"{cname}{BRAND_WORDS[brand[i]]}{trade}{SUFFIXES[suffix[i]]}"
            if sub_type[i] == "enterprise":
                x.industry[i] = ENTERPRISE_INDUSTRY[trade]
    x.set(names=out, contact=contact)


def credit_codes(rng: np.random.Generator, x: Draft, st: list[dict]) -> None:
    """Phones (1 % shared by family or fleet) and institutions' credit codes 统一社会信用代码."""
    N = x.N
    tel = np.array(phones(rng, N), dtype=object)
    dup = np.nonzero(rng.random(N) < 0.01)[0]
    tel[dup] = tel[rng.integers(0, N, len(dup))]
    inst_idx = np.nonzero(x.inst)[0]
    credit = np.full(N, "", dtype=object)
    body = rng.choice(list(CC_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY"), (len(inst_idx), 8)).tolist()
    for j, i in enumerate(inst_idx.tolist()):
        prefix = "11" if x.sub_type[i] == "government" else "91"
        credit[i] = credit_code(prefix, st[x.sidx[i]]["district"]["code"], "".join(body[j]))
    x.set(phones=tel, credit=credit)


def codes(x: Draft, st: list[dict]) -> None:
    """Customer codes 客户代码: a sequence unique per (station, kind, class) (lib.rules.customer_code)."""
    cls = np.array([rules.class_code(k, t) for k, t in zip(x.kind.tolist(), x.sub_type.tolist())])
    seq = pd.DataFrame({"s": x.sidx, "k": x.inst, "c": cls}).groupby(["s", "k", "c"], sort=False).cumcount()
    seq = seq.to_numpy() + 1
    x.set(codes=[rules.customer_code(st[s]["code"], k, c, q)
                 for s, k, c, q in zip(x.sidx.tolist(), x.kind.tolist(), cls.tolist(), seq.tolist())])


def locations(rng: np.random.Generator, x: Draft, st: list[dict]) -> None:
    """Locations near the station (0.5–5 km mostly), strictly inside its grid; a few prospects unmapped."""
    lon = np.zeros(x.N)
    lat = np.zeros(x.N)
    for si, s in enumerate(st):
        lo, hi = x.starts[si], x.starts[si + 1]
        if hi > lo:
            lon[lo:hi], lat[lo:hi] = _near_station(rng, s, hi - lo)
    located = ~((x.status == "potential") & (rng.random(x.N) < 0.01))
    x.set(lon=lon, lat=lat, located=located)


def _near_station(rng: np.random.Generator, s: dict, n: int) -> tuple[np.ndarray, np.ndarray]:
    """n points around station `s` inside its grid: lognormal distances, shrinking after 4 tries."""
    lon = np.zeros(n)
    lat = np.zeros(n)
    kx = km_per_deg_lon(s["lat"])
    todo = np.arange(n)
    scale = 1.0
    for attempt in range(14):
        k = len(todo)
        rkm = np.clip(np.exp(rng.normal(np.log(1.8), 0.65, k)), 0.25, 8.0) * scale
        ang = rng.uniform(0, 2 * np.pi, k)
        px = s["lon"] + rkm * np.cos(ang) / kx
        py = s["lat"] + rkm * np.sin(ang) / KM_PER_DEG_LAT
        ok = shapely.contains_xy(s["grid"], px, py)
        lon[todo[ok]] = px[ok]
        lat[todo[ok]] = py[ok]
        todo = todo[~ok]
        if not len(todo):
            break
        if attempt >= 3:
            scale *= 0.7
    if len(todo):
        pts = random_points_in(rng, s["grid"], len(todo))
        lon[todo], lat[todo] = pts[:, 0], pts[:, 1]
    return lon, lat


def assign_managers(rng: np.random.Generator, x: Draft, st: list[dict]) -> None:
    """Customer manager: the one whose patch 包区 holds the customer; 30 % of prospects have none yet."""
    manager = np.zeros(x.N, dtype=np.int64)
    for si, s in enumerate(st):
        lo, hi = x.starts[si], x.starts[si + 1]
        if hi == lo:
            continue
        mids = [mg["id"] for mg in s["managers"]]
        owner = np.full(hi - lo, mids[0], dtype=np.int64)
        for part, mid in zip(s["patches"][1:], mids[1:]):
            owner[shapely.contains_xy(part, x.lon[lo:hi], x.lat[lo:hi])] = mid
        manager[lo:hi] = owner
    has_manager = ~(((x.status == "potential") | (x.status == "competitor")) & (rng.random(x.N) < 0.3))
    x.set(manager=manager, has_manager=has_manager)


def overrides(rng: np.random.Generator, x: Draft, cities: list[dict], as_of: dt.date) -> None:
    """Manual tier overrides 上下级转移 (002 §6.1.1), about 0.5 %, with reason, by whom and when."""
    N = x.N
    tier_pos = np.array([rules.TIERS.index(t) for t in x.tiers])
    ov = rng.random(N) < 0.005
    up = rng.random(N) < 0.5
    new_pos = np.where((up & (tier_pos < 3)) | (tier_pos == 0), tier_pos + 1, tier_pos - 1)
    override = np.array([rules.TIERS[p] for p in new_pos.tolist()], dtype=object)
    ov_reason = np.where(new_pos > tier_pos, OVERRIDE_REASONS["up"], OVERRIDE_REASONS["down"]).astype(object)
    ov_by = np.array([f"{c['manager']}({c['name']}分公司零售管理部)" for c in cities], dtype=object)[
        rng.integers(0, len(cities), N)]
    ov_at = [dt.datetime.combine(as_of, dt.time(10)) - dt.timedelta(days=int(a), minutes=int(mm))
             for a, mm in zip(rng.integers(1, 300, N).tolist(), rng.integers(0, 480, N).tolist())]
    x.set(ov=ov, override=override, ov_reason=ov_reason, ov_by=ov_by, ov_at=np.array(ov_at, dtype=object))


def created_at(rng: np.random.Generator, x: Draft, period: Period) -> None:
    """created_at: the day it was won, or some time before the period."""
    first = months.first_day(period.month_list[0])
    base = np.where(x.dev >= 0, 0, -rng.integers(30, 365 * 6, x.N))
    created = []
    day = rng.integers(0, 28, x.N).tolist()
    for dv, b, dd in zip(x.dev.tolist(), base.tolist(), day):
        if dv >= 0:
            d0 = months.first_day(period.month_list[dv]) + dt.timedelta(days=dd)
        else:
            d0 = first + dt.timedelta(days=b)
        created.append(dt.datetime.combine(d0, dt.time(9, 0)))
    x.set(created=created)


def assemble(ids: Ids, x: Draft, st: list[dict], period: Period) -> Customers:
    """The customer rows and the arrays later stages read (ids, station, status, demand, months, path)."""
    manager = np.where(x.has_manager, x.manager, 0)
    # a customer's org path is its station's path, plus "m<manager id>/" when a customer manager is
    # assigned (lib.models.Customer, lib.auth.manager_scope): a manager's scope is their own customers
    path = np.array([manager_scope(st[s]["path"], mid) if mid else st[s]["path"]
                     for s, mid in zip(x.sidx.tolist(), manager.tolist())], dtype=object)
    attrs = dict(id=ids.take("customer", x.N), sidx=x.sidx, inst=x.inst, status=x.status, g=x.g, d=x.d,
                 card=x.card, dev=x.dev, lost=x.lost, trend=x.trend, manager=manager, tiers=x.tiers,
                 override=np.where(x.ov, x.override, None), per=x.per, starts=x.starts, sub_type=x.sub_type,
                 kind=x.kind, value_class=x.value_class, names=x.names, path=path, agreement=x.agreement)
    return Customers(_rows(x, st, period, attrs), attrs, _counts(x))


def _rows(x: Draft, st: list[dict], period: Period, attrs: dict) -> pd.DataFrame:
    months_arr = np.array(period.month_list + [None], dtype=object)
    return frame({
        "id": attrs["id"], "code": x.codes, "name": x.names, "kind": x.kind,
        "size": x.sizes, "sub_type": x.sub_type, "fuel": x.fuel, "fuel_segment": x.segment,
        "payment": x.pay, "industry": x.industry, "phone": x.phones,
        "credit_code": x.credit, "contact": x.contact,
        "lon": opt(x.lon, x.located), "lat": opt(x.lat, x.located),
        "station_id": [st[s]["id"] for s in x.sidx.tolist()],
        "grid_id": [st[s]["grid_id"] for s in x.sidx.tolist()],
        "org_path": attrs["path"],
        "manager_id": opt(x.manager, x.has_manager), "status": x.status,
        "value_class": x.value_class, "loyalty": x.loyalty,
        "gasoline_t": x.g, "diesel_t": x.d, "card_cny": x.card,
        "agreement": x.agreement, "province_procurement": x.province_proc,
        "stable": x.stable, "computed_tier": x.tiers, "tier_rule": x.tier_rules,
        "tier_override": opt(x.override, x.ov), "tier_override_reason": opt(x.ov_reason, x.ov),
        "tier_override_by": opt(x.ov_by, x.ov), "tier_override_at": opt(x.ov_at, x.ov),
        "developed_month": months_arr[x.dev], "lost_month": months_arr[x.lost],
        "lost_reason": opt(x.lost_reason, x.is_lost), "competitor": opt(x.competitor, x.has_comp),
        "created_at": x.created,
    })


def _counts(x: Draft) -> dict:
    tiers_arr = np.array(x.tiers, dtype=object)
    return {
        "customers": x.N,
        "customers_by_tier": {t: int((tiers_arr == t).sum()) for t in rules.TIERS},
        "customers_by_status": {s: int((x.status == s).sum()) for s in STATUSES},
        "customers_by_kind": {k: int((x.kind == k).sum()) for k in ("institutional", "personal")},
        "tier_overrides": int(x.ov.sum()),
    }


def manager_rows(rng: np.random.Generator, managers: list[dict], attrs: dict, as_of: dt.date) -> pd.DataFrame:
    """Customer managers 客户经理 with their level from last year's volume (003 §4): their customers'
    volume plus a share of the station's walk-in sales."""
    yearly = 12 * (attrs["g"] + attrs["d"]) * ((attrs["status"] == "existing") | (attrs["status"] == "lost"))
    vol = pd.Series(yearly).groupby(attrs["manager"]).sum().to_dict()
    rows = []
    for mg in managers:
        s = mg["station"]
        months_employed = (as_of - mg["hired_on"]).days / 30.44
        last_year_t = float(vol.get(mg["id"], 0.0)) + s["walkin_t"] * 365 * 0.5 / len(s["managers"])
        level, below = rules.manager_level(months_employed, last_year_t)
        misses = int(rng.choice([1, 1, 1, 2])) if below else 0
        rows.append((mg["id"], s["unit_id"], s["path"], mg["name"], mg["phone"], mg["hired_on"], level, misses, True))
    names_ = ("id", "org_unit_id", "org_path", "name", "phone", "hired_on", "level", "misses", "active")
    return frame({k: [r[j] for r in rows] for j, k in enumerate(names_)})
