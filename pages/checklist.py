"""Setup checklist 数据完整性 / 设置清单: for the chosen scope and month, whether each dashboard has
the data it needs (lib.checklist), each line with links to the page and the import that fill it."""
import streamlit as st

from lib import checklist, fmt, importer, ui

ctx = ui.guard("pages/checklist.py")
t = ctx.t
K = ui.Keys.Checklist
ICONS = {"missing": ":material/error:", "partial": ":material/warning:", "ok": ":material/check_circle:"}

items = ui.cached(checklist.checklist)(ctx.engine, ctx.scope, ctx.month)
counts = checklist.open_items(items)

st.title(t("page.checklist"))
st.caption(ui.md(t, "checklist.subtitle", scope=ui.scope_name(ctx), month=ctx.month))
cols = st.columns(3, border=True)
for col, status in zip(cols, checklist.STATUSES):
    col.metric(t(f"checklist.{status}"), fmt.count(counts[status], ctx.lang))
open_only = st.toggle(t("checklist.open_only"), value=counts["missing"] + counts["partial"] > 0, key=K.OPEN_ONLY)
shown = items[items["status"] != "ok"] if open_only else items
if shown.empty:
    st.success(t("checklist.all_done"))

for dashboard, lines in shown.groupby("dashboard", sort=False):
    st.subheader(t(f"page.{dashboard}"))
    for item in lines.to_dict("records"):
        with st.container(border=True):
            text, links = st.columns([3, 2])
            status = item["status"]
            text.markdown(f"{ICONS[status]} **{t(f'checklist.status.{status}')}** · "
                          f"{checklist.line_text(item, ctx.month, t)}")
            if status != "ok":
                text.caption(t(f"checklist.hint.{item['check']}"))
            with links:
                page = ui.page_spec(item["page"])
                if page is not None and item["page"] != "pages/imports.py":
                    ui.page_link(item["page"], t("checklist.open_page", page=t(page.title_key)), ctx.user)
                if item["kind"] in importer.KINDS:
                    ui.page_link("pages/imports.py", t("checklist.import_kind", kind=t(f"imp.kind.{item['kind']}")),
                                 ctx.user, query_params={"kind": item["kind"]})
