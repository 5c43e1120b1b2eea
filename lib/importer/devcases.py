"""The `development` import 客户开发项目导入 (002 §6.5.4): a company's development cases, open or
closed, as a file (one row a case): customer_code, stage, team, developer_code, started_on, stage_on,
note.

The rules are lib.development's (`open_case` / `advance`): the right "development.edit" (the whole file
is refused without it), customers inside the importer's scope, a developer 客户经理 by code inside the
scope, the stage a code of collect/plan/assign/control/signed/lost or its label, the stage rules of
`lib.development.stage_rule` (one statement for the forms and this file: a developer from "assign" on,
a lost case's reason in its note, "signed" for an institution only with its supply agreement on record,
002 §6.5.4.5), dates not in the future with stage_on (default started_on) not before started_on, and at
most one open case per customer (none already in the database, one in the file). Each case gets its
stage log (collect on started_on, then its stage on stage_on with the note); a signed case makes its
customer existing and developed in the month of stage_on (`lib.development.sign_customer`, the
summaries refreshed). Every case written is audited.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text

from lib import auth, managers
from lib import development as dev
from lib.importer import check as rowcheck
from lib.importer.read import FileError
from lib.validation import Checker

if TYPE_CHECKING:
    from lib.importer.check import Context

KIND = "development"
ACTION = "development.edit"


def prepare(conn: Connection, ctx: Context, kind: str, actor: str) -> None:
    """Load what the checks need into `ctx.people` for a development import (the actor's role, the
    managers by code, the customers' kind and agreement, their open cases); nothing for other kinds."""
    if kind != KIND:
        return
    row = conn.execute(text("SELECT role, active FROM app_user WHERE login = :l"), {"l": actor}).first()
    role = None if row is None else row.role if row.active else "inactive"  # as lib.importer.people.prepare
    mg = pd.read_sql_query(text("SELECT id, code, org_path FROM customer_manager WHERE active = :t"), conn,
                           params={"t": True})
    mg["code"] = managers.effective_codes(mg).str.upper()
    ids = [int(i) for i in ctx.customers["id"]] if len(ctx.customers) else []
    facts, open_ = {}, {}
    for start in range(0, len(ids), 900):  # bound parameters per statement stay few
        chunk = ids[start:start + 900]
        names = {f"c{i}": c for i, c in enumerate(chunk)}
        marks = ", ".join(":" + k for k in names)
        facts |= {int(r[0]): (r[1] == "institutional", r[2] or "") for r in conn.execute(text(
            f"SELECT id, kind, agreement FROM customer WHERE id IN ({marks})"), names)}
        open_ |= {int(r[0]): int(r[1]) for r in conn.execute(text(
            f"SELECT customer_id, id FROM development WHERE customer_id IN ({marks}) "
            f"AND stage NOT IN ('signed', 'lost')"), names)}
    ctx.people = {"role": role, "kind": kind, "managers": mg.drop_duplicates("code").set_index("code"),
                  "facts": facts, "open": open_}


def check(df: pd.DataFrame, ctx: Context) -> tuple[pd.DataFrame, Checker]:
    """Check development case rows (module docstring); return (clean values per row, the Checker)."""
    role = ctx.people.get("role")
    if role is not None and not auth.can(role, ACTION):
        raise FileError("not_allowed", action=ACTION)
    ck = Checker(df)
    ck.flag(df["customer_code"] == "", "customer_code", "required")
    cu = rowcheck.customer_refs(ck, "customer_code", ctx)
    stage = ck.choice("stage", dev.CASE_STAGES, required=True, vocabulary="stage")
    team = ck.text("team", max_len=dev.TEAM_MAX)
    started = ck.date("started_on", required=True, not_after=ctx.today)
    stage_on = ck.date("stage_on", not_after=ctx.today)
    # a blank stage date is the start date; blanks may come back as NaT (an all-blank column), which
    # neither Series.where nor a comparison with a date handles, so both are tested with pd.isna
    stage_on = pd.Series([a if pd.isna(b) else b for a, b in zip(started, stage_on)], index=df.index, dtype=object)
    early = np.array([not (pd.isna(a) or pd.isna(b)) and b < a for a, b in zip(started, stage_on)], dtype=bool)
    ck.flag(early, "stage_on", "stage_date_early", values=df["stage_on"],
            limit=";".join(sorted({str(a) for a, e in zip(started, early) if e})))
    mg = ctx.people["managers"]
    dcode = df["developer_code"].str.upper()
    known = dcode.isin(mg.index)
    m = mg.reindex(dcode.where(known, None).tolist())
    m.index = df.index
    ck.flag((dcode != "") & ~(known & m["org_path"].fillna("").str.startswith(ctx.scope)), "developer_code",
            "unknown_developer", values=df["developer_code"])
    cid = cu["id"]
    note = ck.text("note", max_len=dev.NOTE_MAX)
    _stage_rules(ck, df, stage, cid, m["id"].where((dcode != "") & known), note, ctx)
    is_open = stage.isin(dev.DEV_STAGES[:-1])
    open_case = [ctx.people["open"].get(int(c)) if c == c and c is not None else None for c in cid]
    for i in np.flatnonzero(is_open.to_numpy() & np.array([c is not None for c in open_case], dtype=bool)):
        ck.add(int(i), "customer_code", "case_open", value=df["customer_code"].iloc[i], case=open_case[i])
    ck.duplicates([df["customer_code"].str.upper()], "customer_code", mask=is_open & (df["customer_code"] != ""))
    out = pd.DataFrame({"customer_id": cid, "org_path": cu["org_path"], "stage": stage, "team": team,
                        "developer_id": m["id"], "started_on": started, "stage_on": stage_on,
                        "code": df["customer_code"].str.upper(), "note": note}, index=df.index)
    return out, ck


def _stage_rules(ck: Checker, df: pd.DataFrame, stage: pd.Series, cid: pd.Series, developer: pd.Series,
                 note: pd.Series, ctx: Context) -> None:
    """Flag each row breaking lib.development.stage_rule (the forms' rules), a case written at its stage."""
    columns = {"stage": "stage", "note": "note", "developer": "developer_code"}
    for i, (s, c, d, n) in enumerate(zip(stage, cid, developer, note)):
        if s not in dev.CASE_STAGES or c is None or c != c:
            continue  # a bad stage or customer is flagged already
        institutional, agreement = ctx.people["facts"].get(int(c), (False, ""))
        broken = dev.stage_rule(None, s, institutional=institutional, agreement=agreement,
                                developer=None if d is None or d != d else int(d), note=n or "")
        if broken:
            ck.add(i, columns[broken[0]], broken[1], value=df["customer_code"].iloc[i])


def write(conn: Connection, out: pd.DataFrame, actor: str) -> tuple[int, int]:
    """Insert the checked cases in the caller's transaction, each with its stage log, audited as
    lib.development.open_case does; a signed case signs its customer (lib.development.sign_customer).
    Return (inserted, 0)."""
    for r in out.to_dict("records"):
        dev_id = r["developer_id"]
        dev_id = None if dev_id is None or dev_id != dev_id else int(dev_id)
        case_id = conn.execute(text(
            "INSERT INTO development (customer_id, org_path, stage, team, developer_id, started_on, stage_on) "
            "VALUES (:c, :p, :s, :t, :d, :a, :b) RETURNING id"),
            {"c": int(r["customer_id"]), "p": r["org_path"], "s": r["stage"], "t": r["team"] or "", "d": dev_id,
             "a": r["started_on"], "b": r["stage_on"]}).scalar_one()
        first = r["stage"] == dev.DEV_STAGES[0]
        dev.log_stage(conn, case_id, dev.DEV_STAGES[0], r["started_on"], r["note"] if first else "", actor)
        if not first:
            dev.log_stage(conn, case_id, r["stage"], r["stage_on"], r["note"], actor)
        if r["stage"] == "signed":
            dev.sign_customer(conn, actor, int(r["customer_id"]), r["stage_on"])
        auth.audit(conn, actor, "case_open", "development", case_id, None,
                   {"customer": r["code"], "stage": r["stage"], "team": r["team"] or "", "developer_id": dev_id,
                    "started_on": str(r["started_on"]), "stage_on": str(r["stage_on"]), "note": r["note"] or ""},
                   org_path=r["org_path"])
    return len(out), 0
