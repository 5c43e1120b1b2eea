"""Tables and downloads 表格与下载: a table widget with translated headers, and CSV / Excel buttons."""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from lib.ui.keys import Keys
from lib.ui.language_switch import language
from lib.ui.text import md

TABLE_ROWS = 2_000  # rows a dashboard table shows on the page (downloads have all)
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def table(df, t: Callable[..., str], name: str, key: str, columns: list[str] | None = None,
          column_config: dict | None = None, height: int | str = "auto", values: dict | None = None) -> None:
    """Show a table with translated headers and values (lib.vocab.labelled) and CSV / Excel download
    buttons (lib.export); the files are built only when clicked. `column_config` is keyed by the raw
    column names; `values` as in lib.vocab.labelled; `key` is the page's key for this table
    (Keys.<Page>.<TABLE>)."""
    from lib import export, fmt, vocab

    # A province's lists run to a hundred thousand rows: the page shows the first TABLE_ROWS (the
    # lists come sorted most important first), the downloads carry every row.
    shown = vocab.labelled(df.head(TABLE_ROWS), t, columns, values)
    if len(df) > TABLE_ROWS:
        lang = language()
        st.caption(md(t, "dash.rows_capped", shown=fmt.count(TABLE_ROWS, lang), total=fmt.count(len(df), lang)))
    config = {vocab.column_label(t, c): st.column_config.NumberColumn(format=vocab.page_format(c))
              for c in (columns or list(df.columns)) if c in df.columns and vocab.page_format(c)}
    config |= {vocab.column_label(t, c): v for c, v in (column_config or {}).items()}
    st.dataframe(shown, hide_index=True, column_config=config, height=height, key=Keys.table(key))
    row = st.container(horizontal=True)
    row.download_button(t("dash.csv"), data=lambda: export.table_csv(df, t, columns, values), file_name=f"{name}.csv",
                        mime="text/csv", key=Keys.csv(key), on_click="ignore", icon=":material/download:")
    row.download_button(t("dash.xlsx"), data=lambda: export.table_xlsx(df, t, name, columns, values),
                        file_name=f"{name}.xlsx", key=Keys.xlsx(key), on_click="ignore", mime=XLSX_MIME,
                        icon=":material/table_view:")


def download_buttons(df, name: str, t: Callable[..., str], key: str, sheet: str | None = None) -> None:
    """CSV (UTF-8 with BOM, opens in Excel) and .xlsx download buttons for a table on screen
    (lib.export, formula-injection safe); the files are built only when clicked."""
    from lib import export

    row = st.container(horizontal=True)
    row.download_button(t("work.csv"), data=lambda: export.csv_bytes(df), file_name=f"{name}.csv",
                        mime="text/csv", key=Keys.csv(key), on_click="ignore", icon=":material/download:")
    row.download_button(t("work.xlsx"), data=lambda: export.xlsx_bytes(df, sheet or name),
                        file_name=f"{name}.xlsx", key=Keys.xlsx(key), on_click="ignore", mime=XLSX_MIME,
                        icon=":material/table_view:")


def import_downloads(ctx, kind: str, key: str, month: str | None = None) -> None:
    """CSV and .xlsx buttons downloading the `kind` rows inside the page's scope (and `month` where
    the kind has months) in that import's format (lib.export.import_frame): edited in Excel, the file
    goes back through the import page unchanged. The files are built only when clicked."""
    from lib import export

    t = ctx.t
    name = f"{kind}_{month}" if month else kind
    row = st.container(horizontal=True)
    row.download_button(t("tpl.download_csv"), file_name=f"{name}.csv", mime="text/csv", key=Keys.csv(key),
                        data=lambda: export.import_csv(ctx.engine, kind, ctx.scope, ctx.lang, month),
                        on_click="ignore", icon=":material/download:")
    row.download_button(t("tpl.download_xlsx"), file_name=f"{name}.xlsx", mime=XLSX_MIME, key=Keys.xlsx(key),
                        data=lambda: export.import_xlsx(ctx.engine, kind, ctx.scope, ctx.lang, month),
                        on_click="ignore", icon=":material/table_view:")
