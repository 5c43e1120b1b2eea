"""Entry point: page config, navigation with sections, the shared sidebar, then the chosen page."""
import streamlit as st

from lib import ui

st.set_page_config(page_title="网格化客户管理", page_icon=":material/local_gas_station:", layout="wide")

t = ui.translator(ui.language())
pg = st.navigation(ui.navigation_pages(t))
ctx = ui.frame()
ui.run(pg, ctx)
