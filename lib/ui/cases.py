"""Development case forms 客户开发 (002 §6.5.4), one set for the plan page's pipeline tab and the customer
page's development panel: open a case, move it to a later stage (or lost) with its date and note, take
an open target 摘牌 (§6.5.4.6), and a customer's cases with their stage log. Each form calls
lib.development, which checks rights, scope and the stage rules; a refusal shows as the catalog message.
A form returns the confirmation text after a write (the page flashes it and reruns), else None.
Widget keys derive from the page's `base` key (`Keys.row(base, part)`).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import streamlit as st

from lib import development as dev
from lib import queries, validation
from lib.ui.cache import cached, invalidate
from lib.ui.keys import Keys
from lib.ui.tables import table
from lib.ui.text import md

_FAILED = object()


def _attempt(ctx, call: Callable):
    """`call()`'s result, or _FAILED after showing its refusal (a ValueError from lib) as the catalog text."""
    try:
        out = call()
    except ValueError as exc:
        st.error(md(ctx.t, "common.invalid", reason=validation.describe(exc, ctx.t)))
        return _FAILED
    invalidate("plans", "customers")  # the pipeline, the cases, and a signed customer's status and summaries
    return out


def _developers(ctx) -> dict[int, str]:
    mgrs = cached(queries.managers)(ctx.engine, ctx.scope)
    return dict(zip(mgrs["id"].astype(int), mgrs["name"] + " · " + mgrs["unit"]))


def _day_and_note(ctx, base: str, day0: dt.date) -> tuple[dt.date, str]:
    t = ctx.t
    day = st.date_input(t("dev.day"), value=day0, max_value=dt.date.today(), key=Keys.row(base, "day"))
    note = st.text_input(t("col.note"), max_chars=dev.NOTE_MAX, key=Keys.row(base, "note"), help=t("dev.note_help"))
    return day, note


def open_form(ctx, base: str, customers: dict[int, str], day0: dt.date) -> str | None:
    """The form opening a case for one of `customers` ({id: label}; type to search)."""
    t, base = ctx.t, Keys.row(base, "open")
    with st.form(Keys.row(base, "form")):
        st.markdown(f"**{t('dev.open_title')}**")
        st.caption(t("dev.open_help"))
        cid = st.selectbox(t("col.customer"), list(customers), format_func=customers.get, key=Keys.row(base, "customer"),
                           placeholder=t("dev.no_candidates"))
        team = st.text_input(t("col.team"), max_chars=dev.TEAM_MAX, key=Keys.row(base, "team"))
        devs = _developers(ctx)
        developer = st.selectbox(t("col.developer"), [None, *devs], key=Keys.row(base, "developer"),
                                 format_func=lambda m: t("dev.no_developer") if m is None else devs[m])
        day, note = _day_and_note(ctx, base, day0)
        sent = st.form_submit_button(t("dev.open"), type="primary", key=Keys.row(base, "submit"))
    if not sent or cid is None:
        return None
    new_id = _attempt(ctx, lambda: dev.open_case(ctx.engine, ctx.user, cid, developer_id=developer, team=team,
                                                 started_on=day, note=note))
    return None if new_id is _FAILED else md(t, "dev.opened", case=new_id, customer=customers[cid])


def move_form(ctx, base: str, cases: dict[int, str], day0: dt.date, current: str | None = None) -> str | None:
    """The form moving one of `cases` ({id: label}) to a later stage or lost, with date, note and developer;
    it proposes the stage after `current` (the case's stage, when one case is shown)."""
    t, base = ctx.t, Keys.row(base, "move")
    with st.form(Keys.row(base, "form")):
        st.markdown(f"**{t('dev.move_title')}**")
        st.caption(t("dev.move_help"))
        case_id = st.selectbox(t("col.case"), list(cases), key=Keys.row(base, "case"), format_func=cases.get,
                               placeholder=t("dev.no_cases"))
        stage = st.selectbox(t("col.stage"), dev.CASE_STAGES[1:], key=Keys.row(base, "stage"),
                             index=dev.CASE_STAGES[1:].index(dev.next_stage(current)),
                             format_func=lambda s: t(f"val.stage.{s}"))
        devs = _developers(ctx)
        developer = st.selectbox(t("col.developer"), [None, *devs], key=Keys.row(base, "developer"),
                                 format_func=lambda m: t("dev.keep_developer") if m is None else devs[m])
        day, note = _day_and_note(ctx, base, day0)
        sent = st.form_submit_button(t("dev.move"), key=Keys.row(base, "submit"))
    if not sent or case_id is None:
        return None
    left = _attempt(ctx, lambda: dev.advance(ctx.engine, ctx.user, case_id, stage, note=note, on=day,
                                             developer_id=developer))
    return None if left is _FAILED else t("dev.moved", case=case_id, stage=t(f"val.stage.{stage}"))


def take_form(ctx, base: str, targets: dict[int, str], day0: dt.date) -> str | None:
    """The form by which a developer takes an open target 摘牌 (one of `targets`, {id: label})."""
    t, base = ctx.t, Keys.row(base, "take")
    with st.form(Keys.row(base, "form")):
        st.markdown(f"**{t('dev.take_title')}**")
        st.caption(t("dev.take_help"))
        case_id = st.selectbox(t("col.case"), list(targets), key=Keys.row(base, "case"), format_func=targets.get,
                               placeholder=t("dev.no_targets"))
        devs = _developers(ctx)
        developer = st.selectbox(t("col.developer"), list(devs), key=Keys.row(base, "developer"), format_func=devs.get)
        day, note = _day_and_note(ctx, base, day0)
        sent = st.form_submit_button(t("dev.take"), key=Keys.row(base, "submit"))
    if not sent or case_id is None:
        return None
    left = _attempt(ctx, lambda: dev.take(ctx.engine, ctx.user, case_id, developer, note=note, on=day))
    return None if left is _FAILED else t("dev.taken", case=case_id, developer=devs.get(developer, ""))


def history(ctx, base: str, data: dict, name: str) -> None:
    """A customer's cases and their stage log 开发过程记录 (lib.development.customer_cases)."""
    t = ctx.t
    table(data["cases"], t, f"{name}_cases", Keys.row(base, "cases"),
          ["id", "stage", "team", "developer", "started_on", "stage_on"])
    st.caption(t("dev.log_title"))
    table(data["log"], t, f"{name}_log", Keys.row(base, "log"), ["case_id", "stage", "stage_on", "note", "actor", "at"])


def labels(t, df, only: int | None = None) -> dict[int, str]:
    """{case id: "id · customer · stage"} for a case select box (`only`: that case alone)."""
    return {int(r["id"]): f"{r['id']} · {r['customer']} · " + t(f"val.stage.{r['stage']}")
            for r in df.to_dict("records") if only is None or int(r["id"]) == only}


def customer_labels(df) -> dict[int, str]:
    """{customer id: "name · code"} for the open form's customer box (lib.development.case_candidates)."""
    return dict(zip(df["id"].astype(int), df["name"] + " · " + df["code"]))
