"""Table vocabulary of the daily-work pages (表头与取值): headers "wcol.<column>", code values
"wval.<vocabulary>.<value>", tiers "tier.<x>". `labelled` renames and translates a table for display;
downloads use the same labels. Every key here is listed for the catalog test (I18N_DYNAMIC).
"""
from __future__ import annotations

import datetime as dt
from typing import Callable

import pandas as pd

from lib import customers, importer, matters, rules, visits

COLUMNS = (
    "id", "code", "name", "kind", "sub_type", "phone", "status", "tier", "station", "grid", "manager", "org_path",
    "credit_code", "contact", "fuel", "fuel_segment", "payment", "industry", "lon", "lat", "value_class", "loyalty",
    "gasoline_t", "diesel_t", "card_cny", "agreement", "province_procurement", "stable", "developed_month",
    "lost_month", "lost_reason", "competitor", "tier_override", "tier_override_reason", "station_id", "grid_id",
    "manager_id", "reason", "unit", "customers",
    # visits
    "customer", "customer_id", "mode", "planned_on", "done_on", "note", "owner", "overdue", "days_late",
    "last_done", "due_on", "planned", "overdue_plans", "due_customers", "who", "what", "detail", "created_by",
    "visits_done", "visits_planned", "visits_overdue", "new_customers", "matters_raised", "matters_closed",
    "matters_overdue", "plans", "plans_done", "scheduled", "overdue_customers", "matters_on_time_n", "plan_done",
    "coverage", "matters_on_time", "score", "rank",
    # matters
    "title", "state", "step", "escalation", "raised_at", "due_at", "closed_at", "step_since", "outcome",
    "raised_by", "acting_level", "at", "actor", "action",
    # managers
    "hired_on", "months", "level", "misses", "transfer_due", "institutional_t", "personal_t", "volume_t",
    "target_t", "completion", "commission_cny", "last_year_t", "below_standard",
    # consumption, audit, imports
    "month", "visits", "entity", "entity_id", "before", "after", "row", "column", "message",
)
VALUES = {
    "customer_kind": customers.KINDS,
    "customer_status": customers.STATUSES,
    "fuel": customers.FUELS,
    "payment": customers.PAYMENTS,
    "loyalty": customers.LOYALTIES,
    "agreement": customers.AGREEMENTS,
    "sub_type": tuple(rules.CLASS_CODES["institutional"]) + tuple(k for k in rules.CLASS_CODES["personal"]
                                                                  if k != "other"),
    "mode": visits.MODES,
    "matter_kind": matters.KINDS,
    "state": matters.STATES,
    "step": tuple(matters.STEP_IDS),
    "action": tuple(matters.ACTIONS),
    "outcome": ("done", "approved", "rejected"),
    "level": matters.LEVELS,
    "manager_level": rules.MANAGER_LEVELS,
    "bool": ("yes", "no"),
    "log_kind": ("visit", "matter", "log"),
}
TIER_COLUMNS = ("tier", "tier_override")
TIME_COLUMNS = ("raised_at", "due_at", "closed_at", "step_since", "at")  # shown to the minute


def _value(t: Callable[..., str], vocab: str, value):
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return ""
    if vocab == "tier":
        return t(f"tier.{value}") if value in rules.TIERS else value
    if vocab == "bool":
        return t("wval.bool.yes") if bool(value) else t("wval.bool.no")
    if str(value) in VALUES.get(vocab, ()):
        return t(f"wval.{vocab}.{value}")
    return value


def labelled(df: pd.DataFrame, t: Callable[..., str], columns: list[str] | None = None,
             values: dict[str, str] | None = None) -> pd.DataFrame:
    """Return `df` (optionally only `columns`) with translated headers and code values.

    `values` maps a column to its vocabulary (a key of VALUES, "tier" or "bool"); tier columns are
    translated without being named.
    """
    out = df[list(columns)] if columns else df.copy()
    vocab = {c: "tier" for c in TIER_COLUMNS if c in out.columns} | (values or {})
    out = out.copy()
    for col, voc in vocab.items():
        if col in out.columns:
            out[col] = [_value(t, voc, v) for v in out[col]]
    for col in TIME_COLUMNS:
        if col in out.columns:
            out[col] = [None if v is None or (isinstance(v, float) and v != v) or v is pd.NaT else str(v)[:16]
                        for v in out[col]]
    for col in out.columns:  # empty text cells, not "None"; dates as text so a column holds one type
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = [v.isoformat() if isinstance(v, dt.date) and not pd.isna(v) else v for v in out[col]]
            out[col] = out[col].where(out[col].notna(), "")
    return out.rename(columns={c: t(f"wcol.{c}") for c in out.columns if c in COLUMNS})


I18N_DYNAMIC = {
    "wcol": list(COLUMNS),
    **{f"wval.{k}": [str(v) for v in vals] for k, vals in VALUES.items()},
    "tier_rule": list(customers.TIER_RULES),
    "imp.kind": list(importer.KINDS),
    "imp.stage": ["read", "check", "write", "done"],
    "imp.help": list(importer.KINDS),
}
