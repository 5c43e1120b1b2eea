"""Demo province generator (演示数据): a plausible Shandong-like province, `python -m lib.demo`.

Builds, deterministically for a seed, the whole organisation (province → 5 cities → 16 districts →
stations), grids 网格 that partition each district exactly (全覆盖、无交叉, 000 §2), patches 包区,
customer managers 客户经理, customers classified and tiered by the rule book (lib.rules), monthly
consumption 月度消费, daily station traffic for the four rates 四率, competitor stations, and a
modest amount of work: development cases 客户开发, visits 维护回访 and matters 事项.

Everything is generated with vectorised numpy (one `numpy.random.Generator` per seed) and written
in one write transaction in large batches: the raw DBAPI `executemany` on SQLite, COPY on
PostgreSQL. Usage:

    python -m lib.demo [--seed 7] [--customers 30000] [--months 24] [--db URL]
                       [--end-month YYYY-MM] [--replace]
"""
from __future__ import annotations

import argparse
import datetime as dt
import math
import sys
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, MultiPolygon, Point, Polygon
from sqlalchemy import Connection, Engine, text

from lib import db as _db
from lib.auth import manager_scope
from lib import models as m
from lib import rules
from lib.queries import check_month
from lib.grids import area_m2, to_geojson
from lib.summary import refresh_customer_monthly, refresh_station_monthly

STEPS = ("org", "grids", "customers", "consumption", "traffic", "work", "summary", "done")
Progress = Callable[[float, str], None]


class DemoExistsError(RuntimeError):
    """The database already holds an organisation; pass replace=True (--replace) to overwrite it."""


# --- Geography ------------------------------------------------------------------------------------
# City centres are the real ones; district codes and names are real (GB/T 2260), their shapes are
# invented (Voronoi cells of random seeds clipped to an invented city boundary).

CITIES = [
    # code, name, name_en, lon, lat, weight (share of stations/customers), districts
    ("3701", "济南", "Jinan", 117.00, 36.65, 1.30, [
        ("370102", "历下区", "Lixia District"), ("370103", "市中区", "Shizhong District"),
        ("370104", "槐荫区", "Huaiyin District"), ("370114", "章丘区", "Zhangqiu District")]),
    ("3702", "青岛", "Qingdao", 120.38, 36.07, 1.35, [
        ("370202", "市南区", "Shinan District"), ("370211", "黄岛区", "Huangdao District"),
        ("370215", "即墨区", "Jimo District")]),
    ("3703", "淄博", "Zibo", 118.05, 36.81, 0.85, [
        ("370303", "张店区", "Zhangdian District"), ("370302", "淄川区", "Zichuan District"),
        ("370305", "临淄区", "Linzi District")]),
    ("3706", "烟台", "Yantai", 121.45, 37.46, 0.95, [
        ("370602", "芝罘区", "Zhifu District"), ("370613", "莱山区", "Laishan District"),
        ("370681", "龙口市", "Longkou City")]),
    ("3707", "潍坊", "Weifang", 119.16, 36.71, 1.05, [
        ("370705", "奎文区", "Kuiwen District"), ("370783", "寿光市", "Shouguang City"),
        ("370781", "青州市", "Qingzhou City")]),
]
KM_PER_DEG_LAT = 110.57


def _km_per_deg_lon(lat: float) -> float:
    return 111.32 * math.cos(math.radians(lat))


# --- Word lists -----------------------------------------------------------------------------------

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严武戴孔汤")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玉兰凤海波宁鹏飞斌辉林峰鑫浩宇晨亮春梅雪琳丹健永庆福祥瑞成文德胜利民新东长俊云")
PHONE_PREFIXES = ["130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152",
                  "155", "156", "157", "158", "159", "180", "181", "182", "183", "185", "186", "187",
                  "188", "189"]
BRAND_WORDS = ["宏达", "恒通", "鑫源", "华信", "泰和", "金泰", "瑞丰", "利民", "永兴", "联创", "昌盛", "海天",
               "天元", "德润", "盛世", "宏远", "中兴", "华通", "大地", "长城", "东方", "齐鲁", "泉城", "蓝海",
               "正大", "恒远", "祥和", "通达", "兴业", "同力", "鲁信", "万隆", "金诺", "广源", "恒瑞", "汇丰",
               "宝利", "佳禾", "润泽", "安泰", "鼎盛", "众诚", "华宇", "新时代", "鲁中", "胶东", "黄河", "泰山"]
TRADES = {
    "enterprise": ["机械制造", "食品", "化工", "纺织", "电子科技", "建材", "医药", "造纸", "汽车零部件", "钢管"],
    "transport": ["运输", "汽车运输", "货运", "物流运输", "危险品运输"],
    "construction": ["建设工程", "建筑安装工程", "路桥工程", "市政工程", "水利工程"],
    "mining": ["矿业", "石料开采", "煤业", "金矿"],
    "oilfield": ["石油技术服务", "油田服务", "石油工程", "井下作业"],
    "ready_mix": ["商砼", "混凝土", "新型建材", "预拌砂浆"],
    "bus_company": ["公共交通", "城乡公交", "客运"],
    "taxi_company": ["出租汽车", "客运出租", "汽车租赁"],
    "logistics": ["物流", "供应链管理", "快递服务", "冷链物流", "仓储物流"],
    "agriculture": ["农业发展", "农机服务", "生态农业", "果蔬种植", "农资"],
    "redistribution": ["能源贸易", "石油化工销售", "油品配送", "能源科技"],
    "other": ["物业管理", "保安服务", "环境工程", "驾驶员培训", "园林绿化"],
}
ENTERPRISE_INDUSTRY = {"机械制造": "manufacturing", "食品": "food", "化工": "chemicals", "纺织": "textiles",
                       "电子科技": "electronics", "建材": "building_materials", "医药": "pharmaceuticals",
                       "造纸": "paper", "汽车零部件": "automotive", "钢管": "steel"}
SUFFIXES = ["有限公司", "有限责任公司", "股份有限公司", "集团有限公司"]
SUFFIX_P = [0.6, 0.25, 0.08, 0.07]
AGENCIES = ["城市管理局", "环境卫生服务中心", "公安分局", "交通运输局", "园林绿化服务中心", "市政工程管理处",
            "人民医院", "教育和体育局", "水务局", "应急管理局", "自然资源局", "消防救援大队"]
PROVINCE_ACCOUNTS = ["国网山东省电力公司{c}供电公司", "中国邮政集团有限公司{c}市分公司", "山东高速集团{c}运营管理中心",
                     "中国移动通信集团山东有限公司{c}分公司", "山东省交通运输厅{c}公路事业发展中心",
                     "中国铁塔股份有限公司{c}市分公司", "山东黄金集团{c}矿业公司", "鲁南铁路{c}工务段"]
ROADS = ["经十路", "工业南路", "旅游路", "二环东路", "山大路", "北园大街", "辽阳路", "香港中路", "长江路", "人民路",
         "胜利街", "青年路", "东风街", "北海路", "机场路", "滨海大道", "黄河路", "泰山路", "南京路", "新华路",
         "建设路", "解放路", "和平路", "振兴路", "世纪大道", "开发区大道", "国道308线", "省道102线"]

# institutional sub-types 机构性质 with their share, demand medians (t/month) and fuel segment
#   sub_type: (share, p_gasoline, median_gasoline, p_diesel, median_diesel, industry, segments)
INSTITUTIONAL = {
    "government": (0.08, 1.0, 0.9, 0.3, 0.4, "public_administration", ["unit"]),
    "enterprise": (0.15, 0.8, 0.6, 0.6, 2.0, "manufacturing", ["unit", "factory", "shuttle"]),
    "transport": (0.14, 0.2, 0.3, 1.0, 7.0, "transport", ["long_distance", "fixed_route", "short_scattered"]),
    "construction": (0.10, 0.3, 0.3, 1.0, 6.0, "construction", ["engineering"]),
    "mining": (0.05, 0.3, 0.3, 1.0, 9.0, "mining", ["factory", "engineering"]),
    "oilfield": (0.02, 0.5, 0.5, 1.0, 10.0, "oil_gas", ["engineering"]),
    "ready_mix": (0.06, 0.2, 0.2, 1.0, 10.0, "building_materials", ["engineering", "factory"]),
    "bus_company": (0.03, 0.3, 0.5, 1.0, 18.0, "public_transport", ["bus", "shuttle"]),
    "taxi_company": (0.04, 1.0, 4.0, 0.0, 0.0, "public_transport", ["taxi"]),
    "logistics": (0.12, 0.6, 0.6, 1.0, 5.0, "logistics", ["fixed_route", "short_scattered", "long_distance"]),
    "agriculture": (0.08, 0.3, 0.2, 1.0, 2.5, "agriculture", ["factory", "short_scattered"]),
    "redistribution": (0.04, 0.4, 1.0, 1.0, 12.0, "fuel_distribution", ["redistribution"]),
    "other": (0.09, 0.8, 0.5, 0.4, 1.0, "services", ["unit"]),
}
PERSONAL = {
    "private_car": (0.70, 1.0, 0.085, 0.0, 0.0, "", ["private_car"]),
    "individual_transport": (0.20, 0.15, 0.1, 1.0, 1.1, "transport",
                             ["long_distance", "short_scattered", "fixed_route", "short_distance"]),
    "individual_production": (0.10, 0.3, 0.1, 0.9, 0.5, "agriculture", ["factory", "engineering"]),
}
INST_DEMAND_SCALE = 0.45  # tunes station sales to a mix of grades (large/graded/regular/reform)
# 季节性: diesel peaks in spring and autumn (farming, construction), gasoline at the holidays
SEASON_G = np.array([1.08, 1.10, 0.95, 0.97, 1.05, 0.96, 1.04, 1.07, 0.95, 1.10, 0.92, 0.95])
SEASON_D = np.array([0.82, 0.78, 1.05, 1.15, 1.10, 0.97, 0.90, 0.93, 1.08, 1.15, 1.08, 0.92])

LOST_REASONS = ["价格因素", "服务不满意", "企业搬迁", "竞争对手促销", "经营困难停产", "车辆报废或转让", "路线调整"]
COMPETITORS = ["中石化", "壳牌", "民营加油站"]
OVERRIDE_REASONS = {
    "up": "客户战略地位重要，报请上级单位直接管理（002 §6.1.1）",
    "down": "上级单位管理客户数量过多，下放至下级单位管理（002 §6.1.1）",
}
OWNER_DUTIES = ("负责本网格内客户的调查、开发、维护与服务；组织客户走访与回访，当天工作当天完成；"
                "受理网格内客户诉求，按常规性、协助性、突发性、审批类事项分类处置并跟踪；"
                "每月5日前报送机构客户月度跟踪管理明细表。")
VISIT_NOTES = {
    "onsite": ["现场为客户办理加油卡充值", "现场解答开票问题", "站内现场维护，了解近期用油计划"],
    "sms": ["发送节日问候及优惠活动短信", "发送加油卡余额提醒短信", "发送积分兑换活动通知"],
    "phone": ["电话回访，客户对服务满意", "电话了解本月用油量下降原因", "电话通知新的优惠政策"],
    "visit": ["上门拜访车队负责人，洽谈供油协议", "走访客户单位，了解用油需求变化", "拜访客户，协调结算事宜"],
    "event": ["邀请参加客户联谊会", "组织车队司机座谈会", "参加客户答谢活动"],
}
MATTER_TITLES = {
    "routine": ["加油卡挂失补办", "申请开具增值税专用发票", "加油卡积分查询异常", "咨询充值优惠政策", "要求延长营业时间"],
    "assisted": ["车队申请月结账期", "申请调整副卡限额", "要求提供季度用油对账单", "申请增设专用加油时段"],
    "emergency": ["加油机故障导致多扣款", "客户车辆加油后故障投诉", "站内排队过长引发投诉", "油品质量疑问"],
    "approval": ["申请大客户优惠价格", "申请签订年度供油协议", "申请配送上门服务", "申请赊销额度"],
}
DUE_DAYS = {"routine": 3, "assisted": 7, "emergency": 1, "approval": 15}


# --- Small helpers --------------------------------------------------------------------------------


def _month_add(month: str, k: int) -> str:
    y, mo = int(month[:4]), int(month[5:7])
    i = y * 12 + (mo - 1) + k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def _month_start(month: str) -> dt.date:
    return dt.date(int(month[:4]), int(month[5:7]), 1)


def default_end_month(today: dt.date | None = None) -> str:
    """The month before today's month (e.g. 2026-10 on 2026-11-25)."""
    today = today or dt.date.today()
    return _month_add(f"{today.year:04d}-{today.month:02d}", -1)


_check_month = check_month  # one month check for the whole app (lib.queries)


def _person_names(rng: np.random.Generator, n: int) -> list[str]:
    w = 1.0 / np.arange(1, len(SURNAMES) + 1) ** 0.9
    s = rng.choice(len(SURNAMES), n, p=w / w.sum())
    g1 = rng.integers(0, len(GIVEN), n)
    g2 = rng.integers(0, len(GIVEN), n)
    two = rng.random(n) < 0.7
    return [SURNAMES[a] + GIVEN[b] + (GIVEN[c] if t else "")
            for a, b, c, t in zip(s.tolist(), g1.tolist(), g2.tolist(), two.tolist())]


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    p = rng.integers(0, len(PHONE_PREFIXES), n).tolist()
    num = rng.integers(0, 100_000_000, n).tolist()
    return [f"{PHONE_PREFIXES[a]}{b:08d}" for a, b in zip(p, num)]


_CC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # GB 32100-2015 统一社会信用代码
_CC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
_ORG_W = [3, 7, 9, 10, 5, 8, 4, 2]  # GB 11714 组织机构代码


def _credit_code(prefix: str, area: str, body8: str) -> str:
    """An 18-char unified social credit code with valid check characters (GB 32100, GB 11714)."""
    s = sum(_CC_CHARS.index(ch) * w for ch, w in zip(body8, _ORG_W))
    c9 = 11 - s % 11
    org = body8 + ("X" if c9 == 10 else "0" if c9 == 11 else str(c9))
    code17 = prefix + area + org
    s = sum(_CC_CHARS.index(ch) * w for ch, w in zip(code17, _CC_W))
    return code17 + _CC_CHARS[(31 - s % 31) % 31]


def _random_points_in(rng: np.random.Generator, geom, n: int) -> np.ndarray:
    """n points uniformly inside `geom` (rejection sampling in its bounding box)."""
    minx, miny, maxx, maxy = geom.bounds
    out = np.empty((0, 2))
    shapely.prepare(geom)
    while len(out) < n:
        k = max(64, 4 * (n - len(out)))
        pts = np.column_stack([rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)])
        pts = pts[shapely.contains_xy(geom, pts[:, 0], pts[:, 1])]
        out = np.vstack([out, pts])
    return out[:n]


def _polygonal(geom):
    """Drop lines/points an intersection may leave; return a Polygon or MultiPolygon."""
    if isinstance(geom, (Polygon, MultiPolygon)):
        return geom
    parts = [g for g in shapely.get_parts(geom) if isinstance(g, Polygon) and not g.is_empty]
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)


def _voronoi_split(points: np.ndarray, region) -> list:
    """Voronoi cells of `points` clipped to `region`, in the order of the points (a partition)."""
    if len(points) == 1:
        return [region]
    cells = shapely.voronoi_polygons(MultiPoint(points), extend_to=region, ordered=True)
    return [_polygonal(c.intersection(region)) for c in cells.geoms]


# --- Bulk insert ----------------------------------------------------------------------------------


_insert = _db.bulk_insert


def _tolist(a) -> list:
    return a.tolist() if isinstance(a, np.ndarray) else list(a)


def _opt(values: np.ndarray, mask: np.ndarray) -> list:
    """values where mask is True, else None."""
    return [v if k else None for v, k in zip(_tolist(values), _tolist(mask))]


ID_TABLES = ("org_unit", "station", "competitor_station", "grid", "patch", "customer_manager", "customer",
             "development_plan", "development", "visit", "matter", "matter_event")


def _clear(conn: Connection) -> None:
    """Delete every row of every table of the model (users and audit log too)."""
    tables = list(reversed(m.Base.metadata.sorted_tables))
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("TRUNCATE " + ", ".join(f'"{t.name}"' for t in tables) + " RESTART IDENTITY CASCADE")
    else:
        for t in tables:
            conn.exec_driver_sql(f'DELETE FROM "{t.name}"')


def _reset_sequences(conn: Connection) -> None:
    """PostgreSQL: move each id sequence past the ids we wrote explicitly."""
    if conn.dialect.name != "postgresql":
        return
    for t in ID_TABLES:
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM \"{t}\"")


# --- The generator --------------------------------------------------------------------------------


@dataclass
class _Reporter:
    fn: Progress | None
    calls: int = 0

    def __call__(self, fraction: float, step: str) -> None:
        self.calls += 1
        if self.fn is not None:
            self.fn(min(1.0, max(0.0, float(fraction))), step)


def station_count(customers: int) -> int:
    """Stations for a customer count: about customers/200 (min 30), growing slower past 100k, ≤ 1200."""
    if customers <= 100_000:
        n = customers / 200
    else:
        n = 500 * (customers / 100_000) ** 0.301
    return int(min(1200, max(30, round(n))))


def generate(engine: Engine, *, seed: int = 7, customers: int = 30_000, months: int = 24,
             end_month: str | None = None, progress: Progress | None = None, replace: bool = False) -> dict:
    """Generate the demo province into `engine`'s database and return counts of what was written.

    `progress(fraction, step)` is called some 20+ times; `step` is one of STEPS. Raises
    DemoExistsError if the database already has org units and `replace` is False; with `replace`
    every row of every table is deleted first. Migrates the schema to head first.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if not 1 <= months <= 240:
        raise ValueError("months must be between 1 and 240")
    end_month = _check_month(end_month or default_end_month())
    t0 = time.perf_counter()
    report = _Reporter(progress)
    _db.upgrade(engine)
    with _db.write(engine) as conn:
        if conn.exec_driver_sql("SELECT COUNT(*) FROM org_unit").scalar_one():
            if not replace:
                raise DemoExistsError("the database already has an organisation (org units); use --replace to overwrite it")
            _clear(conn)
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MB page cache for the bulk load
        try:
            gen = _Generator(conn, np.random.default_rng(seed), seed, customers, months, end_month, report)
            counts = gen.run()
            from lib.demo_work import generate_work  # daily-work tables (issue 6)

            counts.update(generate_work(conn, seed, gen.as_of))
            from lib import demo_dashboards  # surveys, win-back tasks, four-rate targets (issue 5)

            counts.update(demo_dashboards.generate(conn, seed=seed, first_month=gen.month_list[0],
                                                   end_month=end_month, as_of=gen.as_of))
        finally:
            if sqlite:  # back to SQLite's default for this pooled connection
                conn.exec_driver_sql("PRAGMA cache_size=-2000")
    counts["seconds"] = round(time.perf_counter() - t0, 2)
    report(1.0, "done")
    return counts


class _Generator:
    def __init__(self, conn: Connection, rng: np.random.Generator, seed: int, n_customers: int, months: int,
                 end_month: str, report: _Reporter):
        self.conn = conn
        self.rng = rng
        self.seed = seed
        self.N = n_customers
        self.M = months
        self.end_month = end_month
        self.month_list = [_month_add(end_month, k - months + 1) for k in range(months)]
        self.moy = np.array([int(x[5:7]) for x in self.month_list])
        today = dt.date.today()
        after = _month_start(_month_add(end_month, 1))
        # "today" of the demo: the real today when end_month is last month, else mid next month
        self.as_of = today if (today.year, today.month) == (after.year, after.month) else after.replace(day=15)
        self.report = report
        self.counts: dict = {"first_month": self.month_list[0], "end_month": end_month, "as_of": self.as_of.isoformat()}
        self.ids = {t: conn.exec_driver_sql(f'SELECT COALESCE(MAX(id), 0) FROM "{t}"').scalar_one() for t in ID_TABLES}

    def _next_ids(self, table: str, n: int) -> np.ndarray:
        start = self.ids[table] + 1
        self.ids[table] += n
        return np.arange(start, start + n, dtype=np.int64)

    def run(self) -> dict:
        self.report(0.0, "org")
        self.build_org()
        self.report(0.04, "grids")
        self.build_grids()
        self.report(0.08, "customers")
        self.build_customers()
        self.report(0.22, "consumption")
        self.write_consumption(0.22, 0.70)
        self.report(0.70, "traffic")
        self.write_traffic(0.70, 0.86)
        self.report(0.86, "work")
        self.write_competitors()
        self.write_work()
        self.report(0.90, "summary")
        refresh_station_monthly(self.conn)
        self.counts["station_monthly"] = self.conn.exec_driver_sql("SELECT COUNT(*) FROM station_monthly").scalar_one()
        self.report(0.93, "summary")
        self.counts["customer_monthly"] = refresh_customer_monthly(self.conn)
        _reset_sequences(self.conn)
        self.report(0.99, "summary")
        return self.counts

    # --- organisation -----------------------------------------------------------------------------

    def build_org(self) -> None:
        rng = self.rng
        n_st = station_count(self.N)
        self.n_st = n_st
        cities = []
        # city boundaries: irregular star-shaped polygons, 50–70 km across, never overlapping
        for code, name, en, lon, lat, weight, districts in CITIES:
            R = rng.uniform(26, 32)
            theta = np.linspace(0, 2 * np.pi, 96, endpoint=False)
            r = np.ones_like(theta)
            for k in range(2, 6):
                r += rng.uniform(0.02, 0.09) * np.cos(k * theta + rng.uniform(0, 2 * np.pi)) / (k - 1) ** 0.5
            r = R * np.clip(r * rng.normal(1, 0.015, len(theta)), 0.7, 1.18)
            kx = _km_per_deg_lon(lat)
            poly = Polygon(np.column_stack([lon + r * np.cos(theta) / kx, lat + r * np.sin(theta) / KM_PER_DEG_LAT]))
            cities.append(dict(code=code, name=name, en=en, lon=lon, lat=lat, weight=weight, R=R,
                               districts=districts, poly=poly))
        for a in range(len(cities)):
            for b in range(a + 1, len(cities)):
                assert not cities[a]["poly"].intersects(cities[b]["poly"]), "city boundaries overlap"

        # districts: Voronoi cells of random seeds clipped to the city; the first one is central
        for c in cities:
            k = len(c["districts"])
            kx = _km_per_deg_lon(c["lat"])
            seeds = [(c["lon"] + rng.uniform(-3, 3) / kx, c["lat"] + rng.uniform(-3, 3) / KM_PER_DEG_LAT)]
            min_sep = 0.55 * c["R"]
            while len(seeds) < k:
                p = _random_points_in(rng, c["poly"], 1)[0]
                min_sep *= 0.995  # never stuck
                if all(math.hypot((p[0] - q[0]) * kx, (p[1] - q[1]) * KM_PER_DEG_LAT) >= min_sep for q in seeds):
                    seeds.append((p[0], p[1]))
            c["district_polys"] = _voronoi_split(np.array(seeds), c["poly"])

        # stations: more near the city centres, at least one per district, ≥ 0.6 km apart
        w = np.array([c["weight"] for c in cities])
        alloc = np.floor(n_st * w / w.sum()).astype(int)
        alloc[np.argsort(-(n_st * w / w.sum() - alloc))[: n_st - alloc.sum()]] += 1
        for c, n_city in zip(cities, alloc.tolist()):
            kx = _km_per_deg_lon(c["lat"])
            pts: list[tuple[float, float]] = []
            arr = np.empty((0, 2))
            while len(pts) < n_city:
                k = 4 * n_city
                central = rng.random(k) < 0.6
                rad = np.where(central, np.abs(rng.normal(0, 0.35 * c["R"], k)), c["R"] * np.sqrt(rng.random(k)) * 1.2)
                ang = rng.uniform(0, 2 * np.pi, k)
                cand = np.column_stack([c["lon"] + rad * np.cos(ang) / kx, c["lat"] + rad * np.sin(ang) / KM_PER_DEG_LAT])
                cand = cand[shapely.contains_xy(c["poly"], cand[:, 0], cand[:, 1])]
                for p in cand:
                    if len(pts) >= n_city:
                        break
                    if len(arr):
                        d = np.hypot((arr[:, 0] - p[0]) * kx, (arr[:, 1] - p[1]) * KM_PER_DEG_LAT)
                        if d.min() < 0.6:
                            continue
                    pts.append((float(p[0]), float(p[1])))
                    arr = np.array(pts)
            pts_arr = np.array(pts).reshape(-1, 2)
            which = np.full(len(pts_arr), -1)
            for di, dpoly in enumerate(c["district_polys"]):
                inside = shapely.contains_xy(dpoly, pts_arr[:, 0], pts_arr[:, 1])
                which[(which < 0) & inside] = di
            for di, dpoly in enumerate(c["district_polys"]):
                if not (which == di).any():  # an empty district gets a station at its inner point
                    rp = dpoly.point_on_surface()
                    pts_arr = np.vstack([pts_arr, [[rp.x, rp.y]]])
                    which = np.append(which, di)
            keep = which >= 0
            pts_arr, which = pts_arr[keep], which[keep]
            c["stations_xy"] = [pts_arr[which == di] for di in range(len(c["district_polys"]))]

        # org units, stations, managers
        org = {k: [] for k in ("id", "code", "name", "name_en", "level", "parent_id", "path", "manager_name",
                               "manager_phone", "boundary", "lon", "lat", "staff")}
        n_units = 1 + len(cities) + sum(len(c["districts"]) for c in cities) + sum(
            sum(len(x) for x in c["stations_xy"]) for c in cities)
        unit_ids = self._next_ids("org_unit", n_units).tolist()
        people = _person_names(rng, n_units)
        phones = _phones(rng, n_units)
        it = iter(range(n_units))

        def add_unit(code, name, en, level, parent, path, boundary, lon, lat, staff):
            i = next(it)
            org["id"].append(unit_ids[i]); org["code"].append(code); org["name"].append(name)
            org["name_en"].append(en); org["level"].append(level); org["parent_id"].append(parent)
            org["path"].append(path); org["manager_name"].append(people[i]); org["manager_phone"].append(phones[i])
            org["boundary"].append(boundary); org["lon"].append(lon); org["lat"].append(lat); org["staff"].append(staff)
            return unit_ids[i], people[i], phones[i]

        province_poly = MultiPolygon([c["poly"] for c in cities])
        prov_id, *_ = add_unit("37", "山东省分公司", "Shandong Provincial Company", "province", None, "/37/",
                               to_geojson(province_poly), 118.5, 36.4, int(rng.integers(40, 70)))
        self.province = dict(id=prov_id, path="/37/")
        self.districts = []
        for c in cities:
            c_path = f"/37/{c['code']}/"
            c["id"], c["manager"], _ = add_unit(c["code"], f"{c['name']}分公司", f"{c['en']} Branch", "city", prov_id,
                                                c_path, to_geojson(c["poly"]), c["lon"], c["lat"],
                                                int(rng.integers(12, 31)))
            c["path"] = c_path
            for di, ((dcode, dname, den), dpoly) in enumerate(zip(c["districts"], c["district_polys"])):
                d_path = f"{c_path}{dcode}/"
                rp = dpoly.point_on_surface()
                d_id, d_mgr, _ = add_unit(dcode, dname, den, "district", c["id"], d_path, to_geojson(dpoly),
                                          rp.x, rp.y, int(rng.integers(3, 8)))
                d = dict(id=d_id, code=dcode, name=dname, en=den, path=d_path, poly=dpoly, city=c, manager=d_mgr,
                         stations=[])
                self.districts.append(d)
                xy = c["stations_xy"][di]
                kx = _km_per_deg_lon(c["lat"])
                order = np.argsort(np.hypot((xy[:, 0] - c["lon"]) * kx, (xy[:, 1] - c["lat"]) * KM_PER_DEG_LAT))
                short = dname[:-1] if len(dname) > 2 else dname
                short_en = den.rsplit(" ", 1)[0]
                for no, j in enumerate(order.tolist(), start=1):
                    scode = f"{dcode}{no:03d}"
                    sname = f"{c['name']}{short}第{no}加油站"
                    sen = f"{short_en} No.{no} Station"
                    x, y = float(xy[j, 0]), float(xy[j, 1])
                    dist_km = math.hypot((x - c["lon"]) * kx, (y - c["lat"]) * KM_PER_DEG_LAT)
                    nozzles = int(np.clip(rng.normal(12 - dist_km / 6, 3), 4, 16))
                    staff = int(nozzles // 2 + rng.integers(4, 9))
                    s_id, s_mgr, s_phone = add_unit(scode, sname, sen, "station", d_id, f"{d_path}{scode}/", None,
                                                    x, y, staff)
                    d["stations"].append(dict(unit_id=s_id, code=scode, name=sname, en=sen, lon=x, lat=y,
                                              path=f"{d_path}{scode}/", manager=s_mgr, phone=s_phone,
                                              nozzles=nozzles, dist_km=dist_km, district=d))
        _insert(self.conn, m.OrgUnit.__table__, org)
        self.stations = [s for d in self.districts for s in d["stations"]]
        n = len(self.stations)
        self.n_st = n
        sid = self._next_ids("station", n)
        opened = [dt.date(1995, 1, 1) + dt.timedelta(days=int(x)) for x in rng.integers(0, 365 * 27, n)]
        # walk-in sales 非卡客户 (t/day): bigger stations with more nozzles sell more to passers-by
        walkin = np.exp(rng.normal(np.log(1.2), 0.5, n)) * np.array([s["nozzles"] for s in self.stations]) / 10
        for i, s in enumerate(self.stations):
            s["id"] = int(sid[i])
            s["walkin_t"] = float(walkin[i])
        _insert(self.conn, m.Station.__table__, {
            "id": sid.tolist(), "org_unit_id": [s["unit_id"] for s in self.stations],
            "org_path": [s["path"] for s in self.stations], "code": [s["code"] for s in self.stations],
            "name": [s["name"] for s in self.stations], "lon": [s["lon"] for s in self.stations],
            "lat": [s["lat"] for s in self.stations], "opened_on": opened,
            "nozzles": [s["nozzles"] for s in self.stations], "daily_sales_t": [0.0] * n,
            "grade": ["regular"] * n,
        })
        self.cities = cities
        self.counts.update(org_units=n_units, cities=len(cities), districts=len(self.districts), stations=n)

    # --- grids and patches ------------------------------------------------------------------------

    def build_grids(self) -> None:
        rng = self.rng
        grid_cols = {k: [] for k in ("id", "code", "name", "station_id", "org_path", "geometry", "owner_name",
                                     "owner_phone", "owner_duties", "area_km2")}
        gid = self._next_ids("grid", self.n_st).tolist()
        i = 0
        for d in self.districts:
            xy = np.array([(s["lon"], s["lat"]) for s in d["stations"]])
            for s, cell in zip(d["stations"], _voronoi_split(xy, d["poly"])):
                s["grid"] = cell
                s["grid_id"] = gid[i]
                shapely.prepare(cell)
                grid_cols["id"].append(gid[i]); grid_cols["code"].append(f"WG{s['code']}")
                grid_cols["name"].append(f"{s['name']}网格"); grid_cols["station_id"].append(s["id"])
                grid_cols["org_path"].append(s["path"]); grid_cols["geometry"].append(to_geojson(cell))
                grid_cols["owner_name"].append(s["manager"]); grid_cols["owner_phone"].append(s["phone"])
                grid_cols["owner_duties"].append(OWNER_DUTIES)
                grid_cols["area_km2"].append(round(area_m2(cell) / 1e6, 3))
                i += 1
        _insert(self.conn, m.Grid.__table__, grid_cols)
        self.report(0.05, "grids")

        # customer managers 客户经理: 1–3 per station, some hired in the last 3 months (trainees)
        n_mgr = np.clip(np.round(rng.normal(2.0, 0.7, self.n_st)), 1, 3).astype(int)
        total = int(n_mgr.sum())
        mids = self._next_ids("customer_manager", total)
        names = _person_names(rng, total)
        phones = _phones(rng, total)
        recent = rng.random(total) < 0.12
        days_back = np.where(recent, rng.integers(5, 88, total), rng.integers(120, 365 * 12, total))
        hired = [self.as_of - dt.timedelta(days=int(x)) for x in days_back]
        k = 0
        self.managers = []
        for s, nm in zip(self.stations, n_mgr.tolist()):
            s["managers"] = []
            for _ in range(nm):
                mg = dict(id=int(mids[k]), name=names[k], phone=phones[k], hired_on=hired[k], station=s)
                s["managers"].append(mg)
                self.managers.append(mg)
                k += 1

        # patches 包区: the grid split into one part per customer manager
        patch = {k: [] for k in ("id", "grid_id", "name", "geometry", "manager_id")}
        for s in self.stations:
            nm = len(s["managers"])
            if nm == 1:
                parts = [s["grid"]]
            else:
                pts = _random_points_in(rng, s["grid"], nm)
                parts = _voronoi_split(pts, s["grid"])
            s["patches"] = parts
            for no, (part, mg) in enumerate(zip(parts, s["managers"]), start=1):
                shapely.prepare(part)
                patch["grid_id"].append(s["grid_id"]); patch["name"].append(f"{s['name']}网格第{no}包区")
                patch["geometry"].append(to_geojson(part)); patch["manager_id"].append(mg["id"])
        patch["id"] = self._next_ids("patch", len(patch["grid_id"])).tolist()
        self.counts.update(grids=self.n_st, patches=len(patch["id"]), customer_managers=total)
        self._patch_cols = patch  # written after the managers (foreign key)
        self.report(0.07, "grids")

    # --- customers --------------------------------------------------------------------------------

    def build_customers(self) -> None:
        rng = self.rng
        N, M = self.N, self.M
        st = self.stations
        # customers per station: lognormal station size, bigger near the city centre
        w = np.exp(rng.normal(0, 0.75, self.n_st)) * np.array([1.6 if s["dist_km"] < 10 else 1.0 for s in st])
        per = rng.multinomial(N, w / w.sum())
        sidx = np.repeat(np.arange(self.n_st), per)
        inst = rng.random(N) < 0.15
        kind = np.where(inst, "institutional", "personal")

        sub_type = np.empty(N, dtype=object)
        p_g = np.zeros(N); med_g = np.zeros(N); p_d = np.zeros(N); med_d = np.zeros(N)
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
        g = np.round(g, 3); d = np.round(d, 3)
        g[has_g & (g == 0)] = 0.001; d[has_d & (d == 0)] = 0.001
        # 不记名卡年采购额: yearly anonymous-card purchase (CNY)
        has_card = rng.random(N) < np.where(inst, 0.6, 0.25)
        card = np.where(has_card, np.where(inst, 25_000, 2_500) * np.exp(rng.normal(0, 1, N) * np.where(inst, 1.3, 1.0)), 0.0)
        card = np.round(card, -2)

        # relationship status 存量/潜在/竞争对手/流失
        status = rng.choice(np.array(["existing", "potential", "competitor", "lost"], dtype=object), N,
                            p=[0.80, 0.10, 0.05, 0.05])
        pay = np.where(inst, rng.choice(np.array(["fuel_card", "bank_card", "cash"], dtype=object), N, p=[0.85, 0.10, 0.05]),
                       rng.choice(np.array(["fuel_card", "bank_card", "cash"], dtype=object), N, p=[0.75, 0.15, 0.10]))

        # agreements, stable consumption, province-wide institutions
        agreement = np.full(N, None, dtype=object)
        province_proc = np.zeros(N, dtype=bool)
        stable = np.zeros(N, dtype=bool)
        inst_idx = np.nonzero(inst)[0]
        r = rng.random(N)
        agreement[inst & (r < 0.012)] = "city"
        agreement[inst & (r >= 0.012) & (r < 0.07)] = "district"
        stable[inst] = rng.random(len(inst_idx)) < 0.45
        stable[(agreement == "district") & (rng.random(N) < 0.75)] = True
        key_names: dict[int, str] = {}
        if len(inst_idx) >= 8:
            n_key = int(min(40, max(3, round(0.001 * len(inst_idx)))))
            key = rng.choice(inst_idx, n_key + 2, replace=False)
            for j, c in enumerate(key[:n_key].tolist()):
                status[c] = "existing"
                pay[c] = "fuel_card"
                city = st[sidx[c]]["district"]["city"]["name"]
                key_names[c] = PROVINCE_ACCOUNTS[j % len(PROVINCE_ACCOUNTS)].format(c=city)
                gov = "交通运输厅" in key_names[c]
                sub_type[c] = "government" if gov else "enterprise"
                industry[c] = "public_administration" if gov else "utilities"
                segment[c] = "unit"
                agreement[c] = None
                if j % 3 == 0:
                    province_proc[c] = True  # 省公司统一采购的全省性机构
                elif j % 3 == 1:
                    agreement[c] = "province"  # 省公司签订协议
                else:
                    card[c] = float(np.round(rng.uniform(2.05e7, 3.5e7), -3))  # 不记名卡 ≥ 2000 万元
                g[c] = max(g[c], round(float(rng.uniform(3, 12)), 3))
                stable[c] = True
            city_c, dist_c = key[n_key:].tolist()
            status[city_c] = status[dist_c] = "existing"
            d[city_c] = round(float(rng.uniform(55, 90)), 3)  # a large transport fleet → 地市级
            sub_type[city_c] = "transport"; industry[city_c] = "transport"; segment[city_c] = "long_distance"
            d[dist_c] = round(float(rng.uniform(22, 45)), 3)  # → 区县级
        fuel = np.where((g > 0) & (d > 0), "both", np.where(d > 0, "diesel", "gasoline")).astype(object)

        # tier 客户分级 and size 规模 by the rule book, one call per customer (002 §6.3.1, §3.2)
        g_l, d_l, c_l = g.tolist(), d.tolist(), card.tolist()
        inst_l, agr_l, pp_l, stb_l = inst.tolist(), agreement.tolist(), province_proc.tolist(), stable.tolist()
        tiers, tier_rules, sizes = [], [], []
        for i in range(N):
            dec = rules.tier_decision(g_l[i], d_l[i], c_l[i], institutional=inst_l[i], agreement=agr_l[i],
                                      province_procurement=pp_l[i], stable=stb_l[i])
            tiers.append(dec.tier)
            tier_rules.append(dec.rule)
            sizes.append(rules.institution_size(g_l[i], d_l[i], c_l[i]) if inst_l[i] else None)
        self.report(0.11, "customers")

        # value class 一/二/三/四类 by yearly demand (t), card money counted at ~8,000 CNY/t
        yearly_t = 12 * (g + d) + card / 8000
        value_class = np.select([yearly_t >= 600, yearly_t >= 120, yearly_t >= 24], [1, 2, 3], 4)
        loyalty = np.select(
            [status == "existing", status == "lost"],
            [np.where(rng.random(N) < 0.65, "fixed", "floating"), "lost"], "potential").astype(object)

        # development 开发: new personal card customers per station, new institutions per district
        consuming = (status == "existing") | (status == "lost")
        dev = np.full(N, -1)
        card_pay = (pay == "fuel_card") | (pay == "bank_card")
        is_key = np.zeros(N, dtype=bool)
        is_key[list(key_names)] = True
        starts = np.concatenate([[0], np.cumsum(per)])
        for si in range(self.n_st):
            lo, hi = starts[si], starts[si + 1]
            pool = np.nonzero(consuming[lo:hi] & ~inst[lo:hi] & card_pay[lo:hi])[0] + lo
            pool = rng.permutation(pool)
            budget = int(0.75 * len(pool))
            used = 0
            for mo in range(M - 1, -1, -1):  # from the latest month back: ~11 a month (target 10)
                k = min(int(rng.poisson(11)), budget - used)
                if k <= 0:
                    break
                dev[pool[used:used + k]] = mo
                used += k
        st_district = np.array([self.districts.index(s["district"]) for s in st])
        cust_district = st_district[sidx]
        for di in range(len(self.districts)):
            pool = rng.permutation(np.nonzero(consuming & inst & ~is_key & (cust_district == di))[0])
            used = 0
            budget = int(0.6 * len(pool))
            for mo in range(M - 1, -1, -1):  # 0–2 new institutions a month (target ≥ 1)
                k = min(int(rng.choice([0, 1, 1, 1, 2, 2])), budget - used)
                if k <= 0:
                    if used >= budget:
                        break
                    continue
                dev[pool[used:used + k]] = mo
                used += k

        # churn 流失: lost in the period, after being developed
        lost = np.full(N, -1)
        lo_from = np.maximum(dev + 2, 1)
        is_lost = status == "lost"
        can = is_lost & (lo_from <= M - 1)
        lost[can] = rng.integers(lo_from[can], M)
        cannot = is_lost & ~can
        status[cannot] = "existing"  # developed too late to be lost already
        loyalty[cannot] = "floating"
        is_lost = status == "lost"
        lost_reason = np.array(LOST_REASONS, dtype=object)[rng.integers(0, len(LOST_REASONS), N)]
        competitor = np.array(COMPETITORS, dtype=object)[rng.integers(0, len(COMPETITORS), N)]
        has_comp = (status == "competitor") | (is_lost & (rng.random(N) < 0.7))
        # behaviour in the last months: 1 = declining, 2 = silent (churn early warning)
        trend_flag = np.where((status == "existing") & (dev < M - 4), rng.choice([0, 1, 2], N, p=[0.95, 0.035, 0.015]), 0)

        # names, phones, credit codes
        names = np.array(_person_names(rng, N), dtype=object)
        contact = np.full(N, "", dtype=object)
        contact[inst] = np.array(_person_names(rng, int(inst.sum())), dtype=object)
        brand = rng.integers(0, len(BRAND_WORDS), N).tolist()
        suffix = rng.choice(len(SUFFIXES), N, p=SUFFIX_P).tolist()
        pick = rng.integers(0, 1000, N).tolist()
        for i in inst_idx.tolist():
            s = st[sidx[i]]
            cname = s["district"]["city"]["name"]
            if i in key_names:
                names[i] = key_names[i]
            elif sub_type[i] == "government":
                dname = s["district"]["name"]
                names[i] = f"{cname}市{dname}{AGENCIES[pick[i] % len(AGENCIES)]}"
            else:
                trades = TRADES[sub_type[i]]
                trade = trades[pick[i] % len(trades)]
                names[i] = f"{cname}{BRAND_WORDS[brand[i]]}{trade}{SUFFIXES[suffix[i]]}"
                if sub_type[i] == "enterprise":
                    industry[i] = ENTERPRISE_INDUSTRY[trade]
        phones = np.array(_phones(rng, N), dtype=object)
        dup = np.nonzero(rng.random(N) < 0.01)[0]
        phones[dup] = phones[rng.integers(0, N, len(dup))]  # shared family / fleet phones
        credit = np.full(N, "", dtype=object)
        body = rng.choice(list(_CC_CHARS[:10] + "ABCDEFGHJKLMNPQRTUWXY"), (len(inst_idx), 8)).tolist()
        for j, i in enumerate(inst_idx.tolist()):
            prefix = "11" if sub_type[i] == "government" else "91"
            credit[i] = _credit_code(prefix, st[sidx[i]]["district"]["code"], "".join(body[j]))

        # codes 客户代码: seq unique per (station, kind, class)
        cls = np.array([rules.class_code(k, t) for k, t in zip(kind.tolist(), sub_type.tolist())])
        seq = pd.DataFrame({"s": sidx, "k": inst, "c": cls}).groupby(["s", "k", "c"], sort=False).cumcount().to_numpy() + 1
        codes = [rules.customer_code(st[s]["code"], k, c, q)
                 for s, k, c, q in zip(sidx.tolist(), kind.tolist(), cls.tolist(), seq.tolist())]
        self.report(0.15, "customers")

        # locations: near the station (0.5–5 km mostly), strictly inside its grid
        lon = np.zeros(N); lat = np.zeros(N)
        for si, s in enumerate(st):
            lo, hi = starts[si], starts[si + 1]
            n = hi - lo
            if n == 0:
                continue
            kx = _km_per_deg_lon(s["lat"])
            todo = np.arange(n)
            scale = 1.0
            for attempt in range(14):
                k = len(todo)
                rkm = np.clip(np.exp(rng.normal(np.log(1.8), 0.65, k)), 0.25, 8.0) * scale
                ang = rng.uniform(0, 2 * np.pi, k)
                x = s["lon"] + rkm * np.cos(ang) / kx
                y = s["lat"] + rkm * np.sin(ang) / KM_PER_DEG_LAT
                ok = shapely.contains_xy(s["grid"], x, y)
                lon[lo + todo[ok]] = x[ok]
                lat[lo + todo[ok]] = y[ok]
                todo = todo[~ok]
                if not len(todo):
                    break
                if attempt >= 3:
                    scale *= 0.7
            if len(todo):
                pts = _random_points_in(rng, s["grid"], len(todo))
                lon[lo + todo], lat[lo + todo] = pts[:, 0], pts[:, 1]
        located = ~((status == "potential") & (rng.random(N) < 0.01))  # a few prospects not yet mapped

        # manager: the one whose patch holds the customer
        manager = np.zeros(N, dtype=np.int64)
        for si, s in enumerate(st):
            lo, hi = starts[si], starts[si + 1]
            if hi == lo:
                continue
            mids = [mg["id"] for mg in s["managers"]]
            owner = np.full(hi - lo, mids[0], dtype=np.int64)
            for part, mid in zip(s["patches"][1:], mids[1:]):
                owner[shapely.contains_xy(part, lon[lo:hi], lat[lo:hi])] = mid
            manager[lo:hi] = owner
        has_manager = ~(((status == "potential") | (status == "competitor")) & (rng.random(N) < 0.3))

        # manual tier overrides 上下级转移 (002 §6.1.1), about 0.5 %
        tier_pos = np.array([rules.TIERS.index(t) for t in tiers])
        ov = rng.random(N) < 0.005
        up = rng.random(N) < 0.5
        new_pos = np.where((up & (tier_pos < 3)) | (tier_pos == 0), tier_pos + 1, tier_pos - 1)
        override = np.array([rules.TIERS[p] for p in new_pos.tolist()], dtype=object)
        ov_reason = np.where(new_pos > tier_pos, OVERRIDE_REASONS["up"], OVERRIDE_REASONS["down"]).astype(object)
        ov_by = np.array([f"{c['manager']}({c['name']}分公司零售管理部)" for c in self.cities], dtype=object)[
            rng.integers(0, len(self.cities), N)]
        ov_at = [dt.datetime.combine(self.as_of, dt.time(10)) - dt.timedelta(days=int(x), minutes=int(mm))
                 for x, mm in zip(rng.integers(1, 300, N).tolist(), rng.integers(0, 480, N).tolist())]

        # created_at: the day it was won, or some time before the period
        first = _month_start(self.month_list[0])
        base = np.where(dev >= 0, 0, -rng.integers(30, 365 * 6, N))
        created = []
        day = rng.integers(0, 28, N).tolist()
        for i, (dv, b, dd) in enumerate(zip(dev.tolist(), base.tolist(), day)):
            if dv >= 0:
                d0 = _month_start(self.month_list[dv]) + dt.timedelta(days=dd)
            else:
                d0 = first + dt.timedelta(days=b)
            created.append(dt.datetime.combine(d0, dt.time(9, 0)))

        # keep what later steps need
        self.cust = dict(
            id=self._next_ids("customer", N), sidx=sidx, inst=inst, status=status, g=g, d=d, card=card,
            dev=dev, lost=lost, trend=trend_flag, manager=np.where(has_manager, manager, 0), tiers=tiers,
            override=np.where(ov, override, None), per=per, starts=starts, sub_type=sub_type,
            kind=kind, value_class=value_class, names=names,
        )
        months_arr = np.array(self.month_list + [None], dtype=object)
        # a customer's org path is its station's path, plus "m<manager id>/" when a customer manager is
        # assigned (lib.models.Customer, lib.auth.manager_scope): a manager's scope is their own customers
        mgr_final = self.cust["manager"]
        self.cust["path"] = np.array([manager_scope(st[s]["path"], mid) if mid else st[s]["path"]
                                      for s, mid in zip(sidx.tolist(), mgr_final.tolist())], dtype=object)
        cols = {
            "id": self.cust["id"].tolist(), "code": codes, "name": names.tolist(), "kind": kind.tolist(),
            "size": sizes, "sub_type": sub_type.tolist(), "fuel": fuel.tolist(), "fuel_segment": segment.tolist(),
            "payment": pay.tolist(), "industry": industry.tolist(), "phone": phones.tolist(),
            "credit_code": credit.tolist(), "contact": contact.tolist(),
            "lon": _opt(lon, located), "lat": _opt(lat, located),
            "station_id": [st[s]["id"] for s in sidx.tolist()],
            "grid_id": [st[s]["grid_id"] for s in sidx.tolist()],
            "org_path": self.cust["path"].tolist(),
            "manager_id": _opt(manager, has_manager), "status": status.tolist(),
            "value_class": value_class.tolist(), "loyalty": loyalty.tolist(),
            "gasoline_t": g.tolist(), "diesel_t": d.tolist(), "card_cny": card.tolist(),
            "agreement": agreement.tolist(), "province_procurement": province_proc.tolist(),
            "stable": stable.tolist(), "computed_tier": tiers, "tier_rule": tier_rules,
            "tier_override": _opt(override, ov), "tier_override_reason": _opt(ov_reason, ov),
            "tier_override_by": _opt(ov_by, ov), "tier_override_at": _opt(np.array(ov_at, dtype=object), ov),
            "developed_month": months_arr[dev].tolist(), "lost_month": months_arr[lost].tolist(),
            "lost_reason": _opt(lost_reason, is_lost), "competitor": _opt(competitor, has_comp),
            "created_at": created,
        }
        self._write_managers()
        _insert(self.conn, m.Patch.__table__, self._patch_cols)
        self.report(0.18, "customers")
        chunk = 100_000
        for a in range(0, N, chunk):
            _insert(self.conn, m.Customer.__table__, {k: v[a:a + chunk] for k, v in cols.items()})
        tiers_arr = np.array(tiers, dtype=object)
        self.counts["customers"] = N
        self.counts["customers_by_tier"] = {t: int((tiers_arr == t).sum()) for t in rules.TIERS}
        self.counts["customers_by_status"] = {s: int((status == s).sum())
                                              for s in ("existing", "potential", "competitor", "lost")}
        self.counts["customers_by_kind"] = {k: int((kind == k).sum()) for k in ("institutional", "personal")}
        self.counts["tier_overrides"] = int(ov.sum())

    def _write_managers(self) -> None:
        """Managers with their level from last year's volume (003 §4): customers' volume + walk-in share."""
        c = self.cust
        yearly = 12 * (c["g"] + c["d"]) * ((c["status"] == "existing") | (c["status"] == "lost"))
        ids = c["manager"]
        vol = pd.Series(yearly).groupby(ids).sum().to_dict()
        cols = {k: [] for k in ("id", "org_unit_id", "org_path", "name", "phone", "hired_on", "level", "misses", "active")}
        rng = self.rng
        for mg in self.managers:
            s = mg["station"]
            months_employed = (self.as_of - mg["hired_on"]).days / 30.44
            last_year_t = float(vol.get(mg["id"], 0.0)) + s["walkin_t"] * 365 * 0.5 / len(s["managers"])
            level, below = rules.manager_level(months_employed, last_year_t)
            misses = int(rng.choice([1, 1, 1, 2])) if below else 0
            cols["id"].append(mg["id"]); cols["org_unit_id"].append(s["unit_id"]); cols["org_path"].append(s["path"])
            cols["name"].append(mg["name"]); cols["phone"].append(mg["phone"]); cols["hired_on"].append(mg["hired_on"])
            cols["level"].append(level); cols["misses"].append(misses); cols["active"].append(True)
        _insert(self.conn, m.CustomerManager.__table__, cols)
        levels = pd.Series(cols["level"]).value_counts().to_dict()
        self.counts["manager_levels"] = {k: int(levels.get(k, 0)) for k in rules.MANAGER_LEVELS}

    # --- monthly consumption ----------------------------------------------------------------------

    def write_consumption(self, f0: float, f1: float) -> None:
        c = self.cust
        M = self.M
        rng = np.random.default_rng([self.seed, 101])
        consuming = np.nonzero((c["status"] == "existing") | (c["status"] == "lost"))[0]
        n_chunks = max(8, math.ceil(len(consuming) / 40_000))
        months = np.array(self.month_list, dtype=object)
        sg = SEASON_G[self.moy - 1][None, :]
        sd = SEASON_D[self.moy - 1][None, :]
        mcol = np.arange(M)[None, :]
        station_t = np.zeros(self.n_st)
        last12 = mcol >= M - 12
        rows = 0
        for part_no, part in enumerate(np.array_split(consuming, n_chunks)):
            n = len(part)
            if n:
                personal = ~c["inst"][part][:, None]
                start = np.maximum(c["dev"][part], 0)[:, None]
                lost = c["lost"][part][:, None]
                end = np.where(lost >= 0, lost, M - 1)
                active = (mcol >= start) & (mcol <= end)
                sigma = np.where(personal, 0.28, 0.15)
                slope = rng.normal(0.002, 0.008, (n, 1))
                trend = (1 + slope) ** (mcol - (M - 1))  # demand figures are today's level
                decline = np.ones((n, M))
                decline = np.where(lost >= 0, np.clip(0.2 + 0.2 * (lost - mcol), 0.0, 1.0), decline)
                tf = c["trend"][part][:, None]
                decline = np.where((tf == 1) & (mcol >= M - 3), np.array([0.7, 0.45, 0.25])[np.clip(mcol - (M - 3), 0, 2)], decline)
                decline = np.where((tf == 2) & (mcol >= M - 2), 0.0, decline)
                skip = personal & (rng.random((n, M)) < 0.07)
                base = trend * decline * ~skip * active
                ng = np.exp(rng.normal(0, 1, (n, M)) * sigma - sigma ** 2 / 2)
                nd = np.exp(rng.normal(0, 1, (n, M)) * sigma - sigma ** 2 / 2)
                gas = np.round(c["g"][part][:, None] * sg * ng * base, 3)
                die = np.round(c["d"][part][:, None] * sd * nd * base, 3)
                zero_card = rng.random((n, M)) < np.where(personal, 0.3, 0.15)
                cardm = np.round(c["card"][part][:, None] / 12 * np.exp(rng.normal(0, 0.5, (n, M)) - 0.125)
                                 * ~zero_card * decline * active, 0)
                vol = gas + die
                # fuelling visits 加油次数: personal 2–8 a month; fleets by volume (t per fill)
                fill = np.where(die > gas, np.where(personal, 0.25, 0.18), np.where(personal, 0.035, 0.05))
                lam = np.where(vol > 0, vol / fill, 0.0)
                visits = rng.poisson(np.minimum(lam, 5000))
                visits = np.where(personal, np.clip(visits, 2, 8), np.maximum(visits, 1)) * (vol > 0)
                keep = (vol > 0) | (cardm > 0)
                r, col = np.nonzero(keep)
                cid = c["id"][part][r]
                _insert(self.conn, m.MonthlyConsumption.__table__, {
                    "customer_id": cid.tolist(), "month": months[col].tolist(),
                    "gasoline_t": gas[r, col].tolist(), "diesel_t": die[r, col].tolist(),
                    "card_cny": cardm[r, col].tolist(), "visits": visits[r, col].tolist(),
                })
                rows += len(r)
                station_t += np.bincount(c["sidx"][part], weights=(vol * last12).sum(axis=1), minlength=self.n_st)
            self.report(f0 + (f1 - f0) * (part_no + 1) / n_chunks, "consumption")
        self.counts["monthly_consumption"] = rows
        # daily sales 日销量 = customers' sales over the last 12 months (per day) + walk-in sales
        days = sum((_month_start(_month_add(x, 1)) - _month_start(x)).days for x in self.month_list[-12:])
        for i, s in enumerate(self.stations):
            s["daily_t"] = round(station_t[i] / days + s["walkin_t"], 3)
            s["grade"] = rules.station_grade(s["daily_t"])
        self.conn.execute(
            text("UPDATE station SET daily_sales_t = :t, grade = :g WHERE id = :i"),
            [{"t": s["daily_t"], "g": s["grade"], "i": s["id"]} for s in self.stations])
        grades = pd.Series([s["grade"] for s in self.stations]).value_counts().to_dict()
        self.counts["station_grades"] = {k: int(v) for k, v in grades.items()}

    # --- daily traffic for the four rates ---------------------------------------------------------

    def write_traffic(self, f0: float, f1: float) -> None:
        rng = np.random.default_rng([self.seed, 202])
        T = min(self.M, 24)
        first = _month_start(self.month_list[-T])
        last = _month_start(_month_add(self.end_month, 1))
        days = np.arange(np.datetime64(first), np.datetime64(last), dtype="datetime64[D]")
        D = len(days)
        day_str = days.astype(str).tolist()
        day_obj = days.astype(object).tolist()
        month_str = days.astype("datetime64[M]").astype(str)
        moy = days.astype("datetime64[M]").astype(int) % 12
        dow = (days.astype(int) + 3) % 7  # Monday = 0
        day_factor = np.array([0.95, 0.95, 0.97, 1.0, 1.08, 1.1, 1.02])[dow] * SEASON_G[moy]
        n = self.n_st
        # station-level behaviour around the default targets (entry 12 %, fill-up 55 %, return 45 %, pass 92 %)
        p_entry = np.clip(rng.normal(0.12, 0.025, n), 0.08, 0.18)
        p_pass = rng.uniform(0.88, 0.97, n)
        p_full = rng.uniform(0.45, 0.70, n)
        p_ident = rng.uniform(0.30, 0.60, n)
        p_ret = rng.uniform(0.35, 0.60, n)
        shares = rng.dirichlet([14, 2.5, 2.5, 1.2], n)  # car, medium, truck, bus
        lpr = rng.random(n) < 0.2
        fuelled_mean = np.array([s["daily_t"] for s in self.stations]) / 0.045  # ~45 kg per vehicle
        n_chunks = max(4, math.ceil(n * D / 200_000))
        rows = 0
        for part_no, part in enumerate(np.array_split(np.arange(n), n_chunks)):
            k = len(part)
            if k:
                mean_pass = (fuelled_mean[part] / (p_entry[part] * p_pass[part]))[:, None] * day_factor[None, :]
                passing = rng.poisson(mean_pass * np.exp(rng.normal(0, 0.06, (k, D))))
                sh = shares[part]
                car = rng.binomial(passing, sh[:, [0]])
                rest = passing - car
                med = rng.binomial(rest, np.clip(sh[:, [1]] / (1 - sh[:, [0]]), 0, 1))
                rest2 = rest - med
                truck = rng.binomial(rest2, np.clip(sh[:, [2]] / (sh[:, [2]] + sh[:, [3]]), 0, 1))
                bus = rest2 - truck
                pe = np.clip(p_entry[part][:, None] * np.exp(rng.normal(0, 0.05, (k, D))), 0, 1)
                entering = rng.binomial(passing, pe)
                fuelled = rng.binomial(entering, p_pass[part][:, None])
                transactions = fuelled + rng.binomial(fuelled, 0.03)
                full = rng.binomial(transactions, p_full[part][:, None])
                ident = rng.binomial(fuelled, p_ident[part][:, None])
                ret = rng.binomial(ident, p_ret[part][:, None])
                peak = rng.binomial(transactions, 0.11)
                sidx = np.repeat(part, D)
                ids = [self.stations[i]["id"] for i in part.tolist()]
                paths = [self.stations[i]["path"] for i in part.tolist()]
                sampling = ["LPR 24h" if lpr[i] else "15min/h x 24h" for i in part.tolist()]
                _insert(self.conn, m.StationTraffic.__table__, {
                    "station_id": np.repeat(ids, D).tolist(),
                    "day": day_str * k if self.conn.dialect.name == "sqlite" else day_obj * k,
                    "org_path": np.repeat(np.array(paths, dtype=object), D).tolist(),
                    "month": np.tile(month_str, k).tolist(),
                    "passing_car": car.ravel().tolist(), "passing_medium": med.ravel().tolist(),
                    "passing_truck": truck.ravel().tolist(), "passing_bus": bus.ravel().tolist(),
                    "entering": entering.ravel().tolist(), "fuelled": fuelled.ravel().tolist(),
                    "transactions": transactions.ravel().tolist(), "full_tank": full.ravel().tolist(),
                    "identified": ident.ravel().tolist(), "returned": ret.ravel().tolist(),
                    "peak_nozzle_lifts": peak.ravel().tolist(),
                    "sampling": np.repeat(np.array(sampling, dtype=object), D).tolist(),
                })
                rows += len(sidx)
            self.report(f0 + (f1 - f0) * (part_no + 1) / n_chunks, "traffic")
        self.counts["station_traffic"] = rows
        self.counts["traffic_months"] = T

    # --- competitors ------------------------------------------------------------------------------

    def write_competitors(self) -> None:
        rng = np.random.default_rng([self.seed, 303])
        n = max(1, round(self.n_st / 3))
        picks = rng.choice(self.n_st, n, replace=n > self.n_st)
        cols = {k: [] for k in ("id", "org_path", "name", "brand", "lon", "lat")}
        brands = ["中国石化", "壳牌", "民营"]
        for si in picks.tolist():
            s = self.stations[si]
            d = s["district"]
            kx = _km_per_deg_lon(s["lat"])
            for _ in range(30):
                rkm, ang = rng.uniform(0.6, 3.0), rng.uniform(0, 2 * np.pi)
                x = s["lon"] + rkm * math.cos(ang) / kx
                y = s["lat"] + rkm * math.sin(ang) / KM_PER_DEG_LAT
                if d["poly"].contains(Point(x, y)):
                    break
            else:
                continue
            b = brands[int(rng.choice(3, p=[0.5, 0.15, 0.35]))]
            road = ROADS[int(rng.integers(0, len(ROADS)))]
            short = d["name"][:-1]
            if b == "中国石化":
                name = f"中国石化{short}{road}加油站"
            elif b == "壳牌":
                name = f"壳牌{d['city']['name']}{road}加油站"
            else:
                name = f"{short}{BRAND_WORDS[int(rng.integers(0, len(BRAND_WORDS)))]}加油站"
            cols["org_path"].append(d["path"]); cols["name"].append(name); cols["brand"].append(b)
            cols["lon"].append(x); cols["lat"].append(y)
        cols["id"] = self._next_ids("competitor_station", len(cols["name"])).tolist()
        _insert(self.conn, m.CompetitorStation.__table__, cols)
        self.counts["competitor_stations"] = len(cols["id"])

    # --- plans, development cases, visits, matters ------------------------------------------------

    def write_work(self) -> None:
        rng = np.random.default_rng([self.seed, 404])
        c = self.cust
        st = self.stations
        as_of = self.as_of
        now = dt.datetime.combine(as_of, dt.time(11, 0))
        mgr_name = {mg["id"]: mg["name"] for mg in self.managers}

        # a few edited plan rows 月度开发计划 (the rule-book default applies elsewhere)
        plan = {k: [] for k in ("org_unit_id", "org_path", "month", "kind", "target", "updated_by", "updated_at")}
        next_month = _month_add(self.end_month, 1)
        for d in [self.districts[i] for i in rng.choice(len(self.districts), min(3, len(self.districts)), replace=False)]:
            plan["org_unit_id"].append(d["id"]); plan["org_path"].append(d["path"]); plan["month"].append(next_month)
            plan["kind"].append("institutional"); plan["target"].append(2)
            plan["updated_by"].append(d["city"]["manager"])
            plan["updated_at"].append(dt.datetime.combine(_month_start(self.end_month).replace(day=25), dt.time(16, 30)))
        for s in [st[i] for i in rng.choice(self.n_st, min(5, self.n_st), replace=False)]:
            plan["org_unit_id"].append(s["unit_id"]); plan["org_path"].append(s["path"]); plan["month"].append(next_month)
            plan["kind"].append("personal_card"); plan["target"].append(int(rng.choice([8, 12, 15])))
            plan["updated_by"].append(s["district"]["city"]["manager"])
            plan["updated_at"].append(dt.datetime.combine(_month_start(self.end_month).replace(day=25), dt.time(17, 0)))
        plan["id"] = self._next_ids("development_plan", len(plan["month"])).tolist()
        _insert(self.conn, m.DevelopmentPlan.__table__, plan)

        # development cases 客户开发 (002 §6.5.4)
        def station_of(i):
            return st[c["sidx"][i]]

        devc = {k: [] for k in ("customer_id", "org_path", "stage", "team", "developer_id", "started_on", "stage_on")}

        def add_case(i, stage, started, stage_on):
            s = station_of(i)
            big = c["inst"][i] and c["value_class"][i] <= 2
            team = f"{s['district']['city']['name']}分公司重点客户开发组(摘牌)" if big else f"{s['name']}开发小组"
            mid = int(c["manager"][i]) or s["managers"][0]["id"]
            devc["customer_id"].append(int(c["id"][i])); devc["org_path"].append(c["path"][i])
            devc["stage"].append(stage); devc["team"].append(team); devc["developer_id"].append(mid)
            devc["started_on"].append(started); devc["stage_on"].append(stage_on)

        potential = np.nonzero(c["status"] == "potential")[0]
        cap = max(20, 12 * self.n_st)
        for i in rng.permutation(potential)[: min(cap, int(0.3 * len(potential)) + 1)].tolist():
            stage = str(rng.choice(list(m.DEV_STAGES[:-1]), p=[0.35, 0.27, 0.22, 0.16]))
            started = as_of - dt.timedelta(days=int(rng.integers(5, 150)))
            add_case(i, stage, started, started + dt.timedelta(days=int(rng.integers(0, (as_of - started).days + 1))))
        recent = np.nonzero((c["dev"] >= self.M - 2) & (c["status"] == "existing"))[0]
        for i in rng.permutation(recent)[: min(cap // 4, int(0.15 * len(recent)) + 1)].tolist():
            won = _month_start(self.month_list[c["dev"][i]]) + dt.timedelta(days=int(rng.integers(0, 28)))
            add_case(i, "signed", won - dt.timedelta(days=int(rng.integers(10, 90))), won)
        comp = np.nonzero(c["status"] == "competitor")[0]
        for i in rng.permutation(comp)[: min(cap // 4, int(0.1 * len(comp)) + 1)].tolist():
            started = as_of - dt.timedelta(days=int(rng.integers(40, 200)))
            add_case(i, "lost", started, started + dt.timedelta(days=int(rng.integers(20, 40))))
        devc["id"] = self._next_ids("development", len(devc["customer_id"])).tolist()
        _insert(self.conn, m.Development.__table__, devc)

        # visits 维护回访 in five modes: done in the last 3 months, planned ahead, overdue
        existing = np.nonzero((c["status"] == "existing") & (c["manager"] > 0))[0]
        n_vis = min(len(existing), 20 * self.n_st)
        weight = np.where(c["inst"][existing], 6.0, 1.0)
        who = rng.choice(existing, n_vis, replace=False, p=weight / weight.sum()) if n_vis else np.array([], dtype=int)
        modes = np.array(["onsite", "sms", "phone", "visit", "event"], dtype=object)
        vis = {k: [] for k in ("customer_id", "org_path", "manager_id", "mode", "planned_on", "done_on", "note", "created_by")}
        kinds = rng.choice(3, n_vis, p=[0.7, 0.15, 0.15])
        for i, kd in zip(who.tolist(), kinds.tolist()):
            mode = str(modes[rng.choice(5, p=[0.25, 0.15, 0.3, 0.2, 0.1])])
            mid = int(c["manager"][i])
            if kd == 0:
                done = as_of - dt.timedelta(days=int(rng.integers(1, 91)))
                planned = done - dt.timedelta(days=int(rng.integers(0, 4)))
            elif kd == 1:
                planned, done = as_of + dt.timedelta(days=int(rng.integers(1, 22))), None
            else:
                planned, done = as_of - dt.timedelta(days=int(rng.integers(1, 21))), None
            notes = VISIT_NOTES[mode]
            vis["customer_id"].append(int(c["id"][i])); vis["org_path"].append(c["path"][i])
            vis["manager_id"].append(mid); vis["mode"].append(mode); vis["planned_on"].append(planned)
            vis["done_on"].append(done); vis["note"].append(notes[int(rng.integers(0, len(notes)))] if done else "")
            vis["created_by"].append(mgr_name[mid])
        vis["id"] = self._next_ids("visit", len(vis["customer_id"])).tolist()
        _insert(self.conn, m.Visit.__table__, vis)

        # matters 事项 with their history (000 §3.1)
        n_mat = 2 * self.n_st
        mat = {k: [] for k in ("id", "kind", "title", "description", "customer_id", "grid_id", "org_path", "state",
                               "raised_at", "due_at", "closed_at", "raised_by")}
        ev = {k: [] for k in ("matter_id", "at", "actor", "action", "state", "note")}
        mat_ids = self._next_ids("matter", n_mat).tolist()
        consumers = np.nonzero(c["status"] == "existing")[0]
        for j in range(n_mat):
            kind = str(rng.choice(list(DUE_DAYS), p=[0.5, 0.25, 0.1, 0.15]))
            state = str(rng.choice(["open", "in_progress", "closed"], p=[0.2, 0.3, 0.5]))
            ci = int(rng.choice(consumers)) if len(consumers) and rng.random() < 0.85 else None
            s = station_of(ci) if ci is not None else st[int(rng.integers(0, self.n_st))]
            age_days = rng.uniform(0.2, 20 if state != "closed" else 90)
            raised = (now - dt.timedelta(days=float(age_days))).replace(microsecond=0)
            due = raised + dt.timedelta(days=DUE_DAYS[kind])
            title = MATTER_TITLES[kind][int(rng.integers(0, len(MATTER_TITLES[kind])))]
            owner = s["manager"]
            mat["id"].append(mat_ids[j]); mat["kind"].append(kind); mat["title"].append(title)
            mat["description"].append(f"{title}。网格负责人{owner}已登记。")
            mat["customer_id"].append(int(c["id"][ci]) if ci is not None else None)
            mat["grid_id"].append(s["grid_id"]); mat["state"].append(state)
            mat["org_path"].append(c["path"][ci] if ci is not None else s["path"])
            mat["raised_at"].append(raised); mat["due_at"].append(due)
            mat["raised_by"].append(owner if rng.random() < 0.6 else "客户来电")
            steps = [(raised, owner, "raised", "open", "登记事项")]
            t = raised
            if state in ("in_progress", "closed"):
                t = t + dt.timedelta(hours=float(rng.uniform(0.5, 12)))
                if kind == "routine":
                    steps.append((t, owner, "accepted", "in_progress", "网格负责人现场处理"))
                elif kind == "assisted":
                    steps.append((t, s["district"]["manager"], "forwarded", "in_progress", "提交经营管理负责人协助处理"))
                elif kind == "emergency":
                    steps.append((t, s["district"]["city"]["manager"], "escalated", "in_progress", "立即上报，市公司组织处置"))
                else:
                    steps.append((t, s["district"]["manager"], "reviewed", "in_progress", "经营负责人审核，报市公司职能部门审批"))
            closed = None
            if state == "closed":
                closed = t + dt.timedelta(days=float(DUE_DAYS[kind] * rng.uniform(0.1, 1.3)))
                if closed > now:
                    closed = now - dt.timedelta(minutes=5)
                closed = max(closed, t + dt.timedelta(minutes=10)).replace(microsecond=0)
                if kind == "approval":
                    steps.append((closed - dt.timedelta(minutes=5), s["district"]["city"]["manager"], "approved",
                                  "in_progress", "市公司职能部门审批同意"))
                steps.append((closed, owner, "closed", "closed", "已答复客户，归档"))
            mat["closed_at"].append(closed)
            for at, actor, action, st_, note in steps:
                ev["matter_id"].append(mat_ids[j]); ev["at"].append(at.replace(microsecond=0)); ev["actor"].append(actor)
                ev["action"].append(action); ev["state"].append(st_); ev["note"].append(note)
        _insert(self.conn, m.Matter.__table__, mat)
        ev["id"] = self._next_ids("matter_event", len(ev["matter_id"])).tolist()
        _insert(self.conn, m.MatterEvent.__table__, ev)
        self.counts.update(development_plans=len(plan["id"]), developments=len(devc["id"]), visits=len(vis["id"]),
                           matters=n_mat, matter_events=len(ev["id"]))


# --- CLI ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from lib.config import database_url

    ap = argparse.ArgumentParser(prog="python -m lib.demo", description="Generate the demo province (演示数据).")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--customers", type=int, default=30_000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--db", default=None, help="SQLAlchemy URL (default: DATABASE_URL or data/gridcrm.db)")
    ap.add_argument("--end-month", default=None, help="last month of history, YYYY-MM (default: last month)")
    ap.add_argument("--replace", action="store_true", help="delete every row first if the database is not empty")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--no-users", action="store_true", help="do not create the documented demo users")
    args = ap.parse_args(argv)
    try:
        end = _check_month(args.end_month) if args.end_month else None
    except ValueError as exc:
        ap.error(str(exc))
    engine = _db.make_engine(args.db or database_url())
    last = [""]

    def show(fraction: float, step: str) -> None:
        if not args.quiet and step != last[0]:
            print(f"[{fraction * 100:5.1f}%] {step}", file=sys.stderr, flush=True)
            last[0] = step

    try:
        counts = generate(engine, seed=args.seed, customers=args.customers, months=args.months, end_month=end,
                          progress=show, replace=args.replace)
        if not args.no_users:
            from lib.auth import create_demo_users

            counts["demo_users"] = ", ".join(create_demo_users(engine))
    except DemoExistsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        engine.dispose()
    for k, v in counts.items():
        print(f"{k}: {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
