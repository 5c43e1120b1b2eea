"""Imports 数据导入: a template for each kind, a check of the file with every error (row, column,
reason) before anything is written, then the import itself — all rows or none."""
import pandas as pd
import streamlit as st

from lib import auth, export, fmt, importer, org, ui
from lib.importer import revert

ctx = ui.guard("pages/imports.py")
t = ctx.t
K = ui.Keys.Imports
st.title(t("page.imports"))
st.caption(ui.md(t, "imp.subtitle", scope=ui.scope_name(ctx), limit=importer.limits()["max_bytes"] // 1048576))
kinds = importer.specs.kinds_for(ctx.user)
asked = st.query_params.get("kind")  # a link from the setup checklist names the kind to import
kind = st.segmented_control(t("imp.kind_label"), kinds, key=K.KIND, default=asked if asked in kinds else "customers",
                            format_func=lambda k: t(f"imp.kind.{k}")) or "customers"
st.markdown(t(f"imp.help.{kind}"))
if kind != "grids":
    st.caption(t("imp.blank_rule"))  # the blank-cell rule, the same for every kind (lib.importer.merge)
cols = st.columns([1, 1, 4])
if kind == "grids":
    cols[0].download_button(t("imp.template_geojson"), importer.template("grids", lang=ctx.lang), "grids_template.geojson",
                            mime="application/geo+json", key=K.TEMPLATE_GEOJSON, on_click="ignore")
    types = ["geojson", "json"]
    st.caption(ui.md(t, "tpl.current", month=t("tpl.all_months")))  # the grids there now, as the grid import reads them
    cols[1].download_button(t("tpl.download_geojson"), data=lambda: export.grids_geojson(ctx.engine, ctx.scope),
                            file_name="grids.geojson", mime="application/geo+json", key=ui.Keys.row(K.EXPORT, "grids"),
                            on_click="ignore", icon=":material/download:")
else:
    cols[0].download_button(t("imp.template_csv"), importer.template(kind, "csv", ctx.lang), f"{kind}_template.csv",
                            mime="text/csv", key=ui.Keys.row(K.TEMPLATE_CSV, kind), on_click="ignore")
    cols[1].download_button(t("imp.template_xlsx"), importer.template(kind, "xlsx", ctx.lang), f"{kind}_template.xlsx",
                            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            key=ui.Keys.row(K.TEMPLATE_XLSX, kind), on_click="ignore")
    types = ["csv", "txt", "xlsx"] + (["geojson", "json"] if kind == "org_units" else [])
if kind in export.IMPORT_READERS:  # the data already there, in this import's format (edit, then import)
    month = ctx.month if kind in export.MONTHLY_KINDS else None
    st.caption(ui.md(t, "tpl.current", month=month or t("tpl.all_months")))
    ui.import_downloads(ctx, kind, ui.Keys.row(K.EXPORT, kind), month)
    if kind == "org_units":  # boundaries: GeoJSON (the .xlsx leaves them empty)
        st.caption(t("exp.org_units_xlsx"))
        st.download_button(t("exp.download_org_geojson"), data=lambda: org.units_geojson(ctx.engine, ctx.scope),
                           file_name="org_units.geojson", mime="application/geo+json",
                           key=ui.Keys.row(K.EXPORT, kind, "geojson"), on_click="ignore", icon=":material/download:")
upload = st.file_uploader(t("imp.upload"), type=types, key=ui.Keys.row(K.FILE, kind),  # the limit the subtitle names
                          max_upload_size=max(1, -(-importer.limits()["max_bytes"] // 1048576)))


def run(dry_run: bool) -> importer.ImportReport:
    bar = st.progress(0.0, text=t("imp.stage.read"))
    report = importer.import_file(
        ctx.engine, kind, upload.getvalue(), upload.name, dry_run=dry_run, user=ctx.user,
        progress=lambda f, s: bar.progress(min(max(f, 0.0), 1.0), text=t(f"imp.stage.{s}")))
    bar.empty()
    return report


if upload is not None:
    ident = (kind, upload.name, upload.size)
    if st.button(t("imp.check"), key=K.CHECK, type="primary", icon=":material/fact_check:"):
        st.session_state[K.REPORT] = (ident, run(dry_run=True))
    stored = st.session_state.get(K.REPORT)
    if stored and stored[0] == ident:
        report = stored[1]
        if report.ok and report.dry_run:
            st.success(ui.md(t, "imp.check_ok", rows=fmt.count(report.rows, ctx.lang), inserted=report.inserted,
                         updated=report.updated, seconds=report.seconds))
            if report.preview is not None:
                st.dataframe(report.preview, hide_index=True, key=K.PREVIEW)
            if st.button(t("imp.commit"), key=K.COMMIT, type="primary", icon=":material/upload:"):
                done = run(dry_run=False)
                st.session_state[K.REPORT] = (ident, done)
                ui.invalidate(*ui.IMPORT_AREAS[kind])
                st.rerun()
        elif report.ok:
            st.success(ui.md(t, "imp.done", inserted=report.inserted, updated=report.updated, seconds=report.seconds))
            if report.secrets is not None:  # users: the one-time passwords, shown this once and then forgotten
                secrets, report.secrets = report.secrets, None
                st.warning(t("imp.secrets_title"))
                st.dataframe(secrets, hide_index=True, key=K.SECRETS)
                st.download_button(t("imp.secrets_download"), secrets.to_csv(index=False).encode("utf-8-sig"),
                                   "one_time_passwords.csv", mime="text/csv", key=K.SECRETS_DOWNLOAD,
                                   on_click="ignore")
        else:
            st.error(ui.md(t, "imp.failed", n=fmt.count(report.error_count, ctx.lang)))
            errors = pd.DataFrame([{"row": e.row, "column": e.column, "message": e.text(t)}
                                   for e in report.errors], columns=["row", "column", "message"])
            ui.table(errors, t, "import_errors", K.ERRORS)


# --- recent imports and their revert 最近导入与撤销 (issue 14, lib.importer.revert) --------------------------


def _revert_result() -> None:
    result = st.session_state.pop(K.REVERT_RESULT, None)
    if result is None:
        return
    if result.ok:
        st.success(ui.md(t, "imp.recent.done", id=result.batch_id, n=result.restored))
        return
    st.error(ui.md(t, f"imp.recent.refused.{result.reason}", id=result.batch_id, n=len(result.conflicts)))
    if result.conflicts:
        st.dataframe(pd.DataFrame(result.conflicts, columns=[t("imp.recent.table"), t("imp.recent.key")]),
                     hide_index=True, key=K.CONFLICTS)


def _revert_controls(batches: pd.DataFrame) -> None:
    open_ = revert.revertible(batches)
    if open_.empty:
        return
    pick = st.selectbox(t("imp.recent.pick"), open_["id"].tolist(), key=K.REVERT,
                        format_func=lambda i: f"#{i} {open_.set_index('id').at[i, 'filename']}")
    if st.button(t("imp.recent.revert"), key=ui.Keys.row(K.REVERT, "go"), icon=":material/undo:"):
        st.session_state[K.REVERT_ASK] = pick
    asked = st.session_state.get(K.REVERT_ASK)
    if asked is None or asked not in open_["id"].tolist():
        return
    row = open_.set_index("id").loc[asked]
    st.warning(ui.md(t, "imp.recent.confirm", id=asked, kind=t(f"imp.kind.{row['kind']}"), file=row["filename"],
                 rows=row["rows"]))
    yes, no = st.columns([1, 4])
    if yes.button(t("imp.recent.confirm_yes"), key=K.REVERT_YES, type="primary"):
        st.session_state[K.REVERT_RESULT] = revert.revert(ctx.engine, ctx.user, int(asked))
        st.session_state.pop(K.REVERT_ASK, None)
        ui.invalidate(*ui.IMPORT_AREAS[row["kind"]])
        st.rerun()
    if no.button(t("imp.recent.cancel"), key=K.REVERT_NO):
        st.session_state.pop(K.REVERT_ASK, None)
        st.rerun()


st.divider()
st.subheader(t("imp.recent.title"))
st.caption(t("imp.recent.caption"))
_revert_result()
recent = revert.recent(ctx.engine, ctx.user.scope)
if recent.empty:
    st.caption(t("imp.recent.none"))
else:
    st.dataframe(revert.recent_table(t, recent), hide_index=True, key=K.RECENT)
    if auth.can(ctx.user, "imports.revert"):
        _revert_controls(recent)
