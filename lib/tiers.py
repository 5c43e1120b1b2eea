"""Customer tiers 客户分级 (002 §6.3, §6.4, §6.1.1): distributions, owners, tiers month by month and
their migration, promotion/demotion candidates, manual overrides and the load check.

Two tiers exist for a customer:
- the tier **in force** 执行等级: `COALESCE(customer.tier_override, customer.computed_tier)`, where
  `computed_tier` follows the stored demand figures (monthly G and D tonnes, yearly card CNY) and an
  override is a management decision (002 §6.1.1 上、下级转移管理权限);
- the tier **measured in a month** 月度测算等级: lib.rules applied to what the customer actually
  bought. Monthly demand G and D = the mean over the month and the two before it (a month without
  consumption counts as 0; months before the customer was developed or before the data begins are
  left out), so one odd month neither promotes nor demotes; yearly card purchase C = card CNY over
  the 12 months ending with the month, annualised the same way; means are rounded to the gram and
  card sums to the fen before the thresholds apply. The customer's flags (province-wide
  procurement, agreement level, stable consumption) come from the customer row. These measures and
  the tier are kept per customer and month in the summary table `customer_monthly`
  (lib.summary.refresh_customer_monthly, refreshed with every change to consumption or customers),
  so a page reads one row per customer in scope and never recomputes a year of consumption.

A customer whose measured tier differs from its tier in force (and has no override) is a promotion
or demotion candidate 升降级候选, shown with the rule that decided.
"""
from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import Engine, text

from lib import auth, rules, tier_history
from lib.config import rules as config
from lib.db import write
from lib.months import check as _check_month
from lib.queries import in_list, in_scope, read_df, scope_like
from lib.summary import refresh_customer_monthly, refresh_station_monthly
from lib.validation import ValidationError

DIMENSIONS = ("tier", "size", "kind", "fuel", "payment", "value_class")
NONE = "none"  # not on the books in that month (new or lost), a node of the migration Sankey
MIN_REASON = 4


class NotAllowed(ValueError):
    """The user's role or scope does not allow this change (a ValueError so pages show it as bad input)."""


_df = read_df



# --- distribution 分布 -------------------------------------------------------------------------


def distribution(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return customers on the books at the end of `month` grouped by tier in force, size, kind, fuel,
    payment and value class 价值类别, with their count and the month's volume (t).

    Columns: tier, size ("" for personal customers), kind, fuel, payment, value_class, customers,
    volume_t. Sum over any subset of the dimensions with `by_dimension`.
    """
    return _df(
        engine,
        f"""SELECT COALESCE(tier_override, computed_tier) AS tier, COALESCE(size, '') AS size, kind,
                   fuel, payment, value_class, COUNT(*) AS customers,
                   COALESCE(SUM(gasoline_t + diesel_t), 0) AS volume_t
            FROM customer_monthly WHERE month = :month AND {in_scope('org_path')}
            GROUP BY COALESCE(tier_override, computed_tier), COALESCE(size, ''), kind, fuel, payment, value_class""",
        scope=scope_like(scope), month=_check_month(month),
    )


def by_dimension(dist: pd.DataFrame, dimension: str) -> pd.DataFrame:
    """Return `distribution` summed by one dimension: columns `dimension`, customers, volume_t."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {DIMENSIONS}, got {dimension!r}")
    out = dist.groupby(dimension, as_index=False)[["customers", "volume_t"]].sum()
    if dimension == "tier":
        order = {t: i for i, t in enumerate(reversed(rules.TIERS))}
        out = out.sort_values("tier", key=lambda s: s.map(order))
    elif dimension == "size":
        out = out[out["size"] != ""]
    return out.reset_index(drop=True)


# --- owners 管理主体 (002 §6.4) -----------------------------------------------------------------


def _segments(path: str) -> list[str]:
    return [p for p in path.strip("/").split("/") if p]


def _ancestor(path: str, level: str) -> str:
    """Return the path of `path`'s ancestor unit at org `level` (province 1 segment … station 4)."""
    depth = rules.TIERS[::-1].index(level) + 1  # province 1, city 2, district 3, station 4
    return "/" + "/".join(_segments(path)[:depth]) + "/"


def owners(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return who owns the customers of each tier 管理主体 (002 §6.4.1–6.4.4) within `scope`.

    A tier-L customer is owned by the unit at org level L above it: province customers by the
    province office 加管处, city customers by the city branch's retail department, district customers
    by the area manager 片区经理, station customers by the station manager and staff. One row per
    owning unit: tier, owner_body (rules.TIER_OWNER key), unit, manager_name, customers, volume_t.
    """
    rows = _df(
        engine,
        f"""SELECT COALESCE(tier_override, computed_tier) AS tier, org_path, COUNT(*) AS customers,
                   COALESCE(SUM(gasoline_t + diesel_t), 0) AS volume_t
            FROM customer_monthly WHERE month = :month AND {in_scope('org_path')}
            GROUP BY COALESCE(tier_override, computed_tier), org_path""",
        scope=scope_like(scope), month=_check_month(month),
    )
    cols = ["tier", "owner_body", "unit", "manager_name", "customers", "volume_t"]
    if rows.empty:
        return pd.DataFrame(columns=cols)
    rows["unit_path"] = [_ancestor(p, t) for p, t in zip(rows["org_path"], rows["tier"])]
    grouped = rows.groupby(["tier", "unit_path"], as_index=False)[["customers", "volume_t"]].sum()
    paths = sorted(set(grouped["unit_path"]))
    names = {}
    with engine.connect() as conn:
        for p in paths:  # a few dozen owning units; their names are on the viewer's own path or below
            row = conn.execute(text("SELECT name, manager_name FROM org_unit WHERE path = :p"), {"p": p}).first()
            names[p] = (row[0], row[1]) if row else (p, "")
    grouped["owner_body"] = grouped["tier"].map(rules.TIER_OWNER)
    grouped["unit"] = grouped["unit_path"].map(lambda p: names[p][0])
    grouped["manager_name"] = grouped["unit_path"].map(lambda p: names[p][1])
    order = {t: i for i, t in enumerate(reversed(rules.TIERS))}
    grouped = grouped.sort_values(["tier", "customers"], key=lambda s: s.map(order) if s.name == "tier" else -s)
    return grouped[cols].reset_index(drop=True)


# --- tiers month by month 月度测算等级 -------------------------------------------------------------


_RANK = "CASE {col} " + " ".join(f"WHEN '{t}' THEN {i}" for i, t in enumerate(rules.TIERS)) + " END"
_CANDIDATE = "cm.tier_override IS NULL AND cm.measured_tier <> cm.computed_tier"


def monthly_tiers(engine: Engine, scope: str, month: str, kind: str | None = None) -> pd.DataFrame:
    """Return each customer (of `kind`, when given) on the books at the end of `month` with the
    tier lib.rules gives for that month's measured demand (see the module docstring for the measures),
    and the tier and override (with its reason) in force at the month's end (lib.tier_history).

    Columns: customer_id, code, name, kind, station_id, org_path, tier_in_force, computed_tier,
    override, override_reason, size, gasoline_t, diesel_t, card_cny, tier, rule, section.
    """
    df = _df(
        engine,
        f"""SELECT cm.customer_id, c.code, c.name, cm.kind, cm.station_id, cm.org_path,
                   COALESCE(cm.tier_override, cm.computed_tier) AS tier_in_force, cm.computed_tier,
                   cm.tier_override AS override, CASE WHEN h.customer_id IS NULL THEN c.tier_override_reason
                   ELSE h.override_reason END AS override_reason, cm.size,
                   cm.g_avg_t AS gasoline_t, cm.d_avg_t AS diesel_t, cm.card_year_cny AS card_cny,
                   cm.measured_tier AS tier, cm.rule
            FROM customer_monthly cm JOIN customer c ON c.id = cm.customer_id
            LEFT JOIN (SELECT * FROM {tier_history.INTERVALS} i WHERE since_month <= :month AND until_month > :month) h
              ON h.customer_id = cm.customer_id
            WHERE cm.month = :month AND {in_scope('cm.org_path')} {"AND cm.kind = :kind" if kind else ""}
            ORDER BY cm.customer_id""",
        scope=scope_like(scope), month=_check_month(month), kind=kind,
    )
    df["section"] = df["rule"].map(rules.RULE_SECTION)
    return df


def migration(engine: Engine, scope: str, month_from: str, month_to: str, changes_only: bool = False) -> pd.DataFrame:
    """Return the tier migration 等级迁移 between two months as flows for a Sankey diagram.

    Each customer on the books in either month counts once: from its measured tier in `month_from`
    (or "none": not yet on the books) to its measured tier in `month_to` (or "none": lost by then).
    Columns: from_tier, to_tier, customers (rows with customers > 0 only). With `changes_only`, only
    moves between two tiers (no unchanged customers, none new or lost).
    """
    # one pass over both months' rows grouped by customer (a FULL OUTER JOIN of two month slices
    # is far slower on SQLite)
    flows = _df(
        engine,
        f"""SELECT from_tier, to_tier, COUNT(*) AS customers FROM (
                SELECT COALESCE(MAX(CASE WHEN month = :a THEN measured_tier END), '{NONE}') AS from_tier,
                       COALESCE(MAX(CASE WHEN month = :b THEN measured_tier END), '{NONE}') AS to_tier
                FROM customer_monthly WHERE month IN (:a, :b) AND {in_scope('org_path')}
                GROUP BY customer_id) x
            GROUP BY from_tier, to_tier""",
        scope=scope_like(scope), a=_check_month(month_from), b=_check_month(month_to),
    )
    order = {t: i for i, t in enumerate(list(reversed(rules.TIERS)) + [NONE])}
    flows["customers"] = flows["customers"].astype(int)
    flows = flows.sort_values(["from_tier", "to_tier"], key=lambda s: s.map(order))
    flows = flows[flows["customers"] > 0]
    if changes_only:
        flows = flows[(flows["from_tier"] != flows["to_tier"]) & (flows["from_tier"] != NONE) & (flows["to_tier"] != NONE)]
    return flows.reset_index(drop=True)


def candidate_counts(engine: Engine, scope: str, month: str) -> dict[str, int]:
    """Return {"promote": n, "demote": n}: customers without an override whose tier measured in
    `month` is above / below the tier in force (counted in SQL)."""
    with engine.connect() as conn:
        row = conn.execute(text(
            f"""SELECT COALESCE(SUM(CASE WHEN {_RANK.format(col='cm.measured_tier')} > {_RANK.format(col='cm.computed_tier')}
                                    THEN 1 ELSE 0 END), 0),
                       COALESCE(SUM(CASE WHEN {_RANK.format(col='cm.measured_tier')} < {_RANK.format(col='cm.computed_tier')}
                                    THEN 1 ELSE 0 END), 0)
                FROM customer_monthly cm
                WHERE cm.month = :month AND {in_scope('cm.org_path')} AND {_CANDIDATE}"""),
            {"scope": scope_like(scope), "month": _check_month(month)}).first()
    return {"promote": int(row[0]), "demote": int(row[1])}


def candidates(engine: Engine, scope: str, month: str, limit: int | None = None) -> pd.DataFrame:
    """Return promotion/demotion candidates 升降级候选: customers without an override whose tier
    measured in `month` differs from the tier in force, with the rule that decided (rule, section).

    Columns: customer_id, code, name, kind, station, tier_in_force, measured_tier, direction
    ("promote" or "demote"), rule, section, gasoline_t, diesel_t, card_cny. Promotions first, biggest
    volume first; the first `limit` of them when given.
    """
    up = f"{_RANK.format(col='cm.measured_tier')} > {_RANK.format(col='cm.computed_tier')}"
    df = _df(
        engine,
        f"""SELECT cm.customer_id, c.code, c.name, cm.kind, s.name AS station, cm.computed_tier AS tier_in_force,
                   cm.measured_tier, CASE WHEN {up} THEN 'promote' ELSE 'demote' END AS direction, cm.rule,
                   cm.g_avg_t AS gasoline_t, cm.d_avg_t AS diesel_t, cm.card_year_cny AS card_cny
            FROM customer_monthly cm JOIN customer c ON c.id = cm.customer_id JOIN station s ON s.id = cm.station_id
            WHERE cm.month = :month AND {in_scope('cm.org_path')} AND {_CANDIDATE}
            ORDER BY CASE WHEN {up} THEN 0 ELSE 1 END, cm.g_avg_t + cm.d_avg_t DESC, cm.customer_id"""
        + (f" LIMIT {int(limit)}" if limit is not None else ""),
        scope=scope_like(scope), month=_check_month(month),
    )
    df.insert(df.columns.get_loc("rule") + 1, "section", df["rule"].map(rules.RULE_SECTION))
    return df


def station_names(engine: Engine, station_ids: list[int]) -> dict[int, str]:
    """Return {station id: name 站名} for the given stations (for tables that carry only the id)."""
    if not station_ids:
        return {}
    sql, bound = in_list("s", [int(s) for s in station_ids])
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, name FROM station WHERE id IN {sql}"), bound).all()
    return {r[0]: r[1] for r in rows}


def overrides(engine: Engine, scope: str) -> pd.DataFrame:
    """Return the manual tier overrides 人工调整 in force within `scope`: customer, computed tier,
    tier in force, reason, by whom, when (002 §6.1.1)."""
    return _df(
        engine,
        f"""SELECT c.id AS customer_id, c.code, c.name, c.kind, s.name AS station, c.computed_tier,
                   c.tier_override AS tier_in_force, c.tier_override_reason AS reason,
                   c.tier_override_by AS changed_by, c.tier_override_at AS changed_at
            FROM customer c JOIN station s ON s.id = c.station_id
            WHERE {in_scope('c.org_path')} AND c.tier_override IS NOT NULL
            ORDER BY c.tier_override_at DESC, c.id""",
        scope=scope_like(scope),
    )


# --- manual override 人工调整等级 (002 §6.1.1) -----------------------------------------------------


def check_owner(actor: auth.SessionUser, tier_in_force: str, new_tier: str) -> None:
    """ValidationError unless `actor`'s level is at or above the owner level of both the tier in force
    and the new tier: a tier is moved by its owner level or above (002 §6.1.1 上、下级转移管理权限,
    §6.1.2 上级督导、本级负责; owners §6.4, lib.rules.TIER_OWNER_LEVEL)."""
    for t in (tier_in_force, new_tier):
        level = rules.TIER_OWNER_LEVEL[t]
        if not auth.at_or_above(actor, level):
            raise ValidationError.one("tier_override", "tier_owned_above", tier=t, level=level)


def settable_tiers(actor: auth.SessionUser) -> list[str]:
    """Return the tiers `actor` may move a customer to or from, highest first: those owned at the actor's
    level or below (002 §6.1.2 上级督导、本级负责; `check_owner`), so a transfer form offers no tier the
    transfer would refuse. Empty for a role without "tiers.override"."""
    if not auth.can(actor, "tiers.override"):
        return []
    return [t for t in reversed(rules.TIERS) if auth.at_or_above(actor, rules.TIER_OWNER_LEVEL[t])]


def set_override(engine: Engine, actor: auth.SessionUser, customer_id: int, tier: str | None, reason: str, *,
                 month: str | None = None) -> None:
    """Move a customer's tier by hand (or with `tier=None` give it back to the rules), audited.

    002 §6.1.1: when a level holds too many or too few customers, management may move one level up
    or down (上、下级转移管理权限) — so the override must lie one level from the computed tier. Only
    roles above station level may do it, only for customers in their scope, only at or above the owner
    level of both the tier in force and the new one (`check_owner`), and only with a reason. This is
    the one way a tier is set by hand (lib.customers and the import refuse it: locked_fields).
    The station's summary rows are refreshed in the same transaction (tier is a key of them).
    The override is in force from `month` on (default: the current month; an earlier month that is
    not closed may be named): the months before keep their tier (lib.tier_history; DOMAIN §3 History).
    Raises NotAllowed (a ValueError) or ValueError.
    """
    if not auth.can(actor, "tiers.override"):  # 002 §6.1.1, the superior decides (§6.1.2)
        raise NotAllowed(f"role {actor.role} may not change customer tiers")
    reason = (reason or "").strip()
    if len(reason) < MIN_REASON:
        raise ValueError(f"a reason of at least {MIN_REASON} characters is required")
    if tier is not None and tier not in rules.TIERS:
        raise ValueError(f"tier must be one of {rules.TIERS}, got {tier!r}")
    with write(engine) as conn:
        row = conn.execute(
            text(f"SELECT id, station_id, org_path, computed_tier, tier_override, tier_override_reason "
                 f"FROM customer WHERE id = :id AND {in_scope('org_path')}"),
            {"id": int(customer_id), "scope": scope_like(actor.scope)},
        ).mappings().first()
        if row is None:
            raise NotAllowed(f"customer {customer_id} is not in your scope")
        check_owner(actor, row["tier_override"] or row["computed_tier"], tier or row["computed_tier"])
        if tier is not None:
            if tier == row["computed_tier"]:
                raise ValueError("the override equals the computed tier; clear the override instead")
            if abs(rules.TIERS.index(tier) - rules.TIERS.index(row["computed_tier"])) != 1:
                raise ValueError("002 §6.1.1 moves management one level up or down only")
        elif row["tier_override"] is None:
            raise ValueError("the customer has no override to clear")
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        tier_history.note_override(conn, row, tier, reason if tier else None, actor.login if tier else None, now, month)
        conn.execute(
            text("UPDATE customer SET tier_override = :t, tier_override_reason = :r, tier_override_by = :b, "
                 "tier_override_at = :at WHERE id = :id"),
            {"t": tier, "r": reason if tier else None, "b": actor.login if tier else None,
             "at": now if tier else None, "id": row["id"]},
        )
        auth.audit(conn, actor.login, "tier_override" if tier else "tier_override_cleared", "customer", row["id"],
                   before={"tier_override": row["tier_override"], "reason": row["tier_override_reason"]},
                   after={"tier_override": tier, "reason": reason, "computed_tier": row["computed_tier"]},
                   org_path=row["org_path"])
        refresh_station_monthly(conn, station_ids=[row["station_id"]])
        refresh_customer_monthly(conn, [row["id"]])


# --- load check 管理幅度检查 (002 §6.1.1) -----------------------------------------------------------


def load_check(engine: Engine, scope: str, month: str) -> pd.DataFrame:
    """Return, for every unit inside `scope`, the customers of its own level's tier per staff
    member and whether that is too many or too few (002 §6.1.1 "某级客户过剩或不足").

    Thresholds per level: config `[tier_load]` (customers per staff member). Columns: unit_id, unit,
    level, path, staff, customers, per_staff, min_per_staff, max_per_staff, status ("over", "under",
    "ok", or "no_staff" when a unit without staff holds customers). Flagged units first.
    """
    p = config()["tier_load"]
    counts = _df(
        engine,
        f"""SELECT COALESCE(tier_override, computed_tier) AS tier, org_path, COUNT(*) AS customers
            FROM customer_monthly WHERE month = :month AND {in_scope('org_path')}
            GROUP BY COALESCE(tier_override, computed_tier), org_path""",
        scope=scope_like(scope), month=_check_month(month),
    )
    units = _df(engine, f"SELECT id AS unit_id, name AS unit, level, path, staff FROM org_unit "
                        f"WHERE {in_scope('path')} ORDER BY path", scope=scope_like(scope))
    counts["unit_path"] = [_ancestor(pth, t) for pth, t in zip(counts["org_path"], counts["tier"])]
    per_unit = counts.groupby("unit_path")["customers"].sum()
    units["customers"] = units["path"].map(per_unit).fillna(0).astype(int)
    units["per_staff"] = [c / s if s else None for c, s in zip(units["customers"], units["staff"])]
    units["min_per_staff"] = [p[f"{lv}_min_per_staff"] for lv in units["level"]]
    units["max_per_staff"] = [p[f"{lv}_max_per_staff"] for lv in units["level"]]

    def status(row) -> str:
        if not row["staff"]:
            return "no_staff" if row["customers"] else "ok"
        if row["per_staff"] > row["max_per_staff"]:
            return "over"
        if row["per_staff"] < row["min_per_staff"]:
            return "under"
        return "ok"

    units["status"] = units.apply(status, axis=1) if len(units) else []
    units["_flag"] = units["status"] != "ok"
    units = units.sort_values(["_flag", "path"], ascending=[False, True]).drop(columns="_flag")
    return units.reset_index(drop=True)


# --- the page's headline 关键数字 ------------------------------------------------------------------


def summary(engine: Engine, scope: str, month: str) -> dict:
    """Return the tiers page's key figures: customers on the books, by tier in force, promotion and
    demotion candidates, overrides in force, and units flagged by the load check."""
    return headline(distribution(engine, scope, month), candidate_counts(engine, scope, month),
                    load_check(engine, scope, month), overrides(engine, scope))


def headline(dist: pd.DataFrame, cand: dict[str, int], load: pd.DataFrame, over: pd.DataFrame) -> dict:
    """`summary` from its parts (the page passes its cached tables, so none is read twice)."""
    return {
        "customers": int(dist["customers"].sum()),
        "by_tier": {t: int(dist.loc[dist["tier"] == t, "customers"].sum()) for t in rules.TIERS},
        "institutional": int(dist.loc[dist["kind"] == "institutional", "customers"].sum()),
        "promote": cand["promote"],
        "demote": cand["demote"],
        "overrides": int(len(over)),
        "flagged_units": int((load["status"] != "ok").sum()),
    }


def customer_by_code(engine: Engine, scope: str, code: str) -> dict | None:
    """Return {id, code, name, computed_tier, tier_override} of the customer with `code` inside `scope`, or None."""
    with engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT id, code, name, computed_tier, tier_override FROM customer "
                 f"WHERE code = :code AND {in_scope('org_path')}"),
            {"code": (code or "").strip().upper(), "scope": scope_like(scope)},
        ).mappings().first()
    return dict(row) if row else None
