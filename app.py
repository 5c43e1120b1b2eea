"""Entry point: page config, login, navigation with the pages the user may open, sidebar, page."""
import streamlit as st

from lib import ui

st.set_page_config(page_title="网格化客户管理", page_icon="⛽", layout="wide")

t = ui.translator(ui.language())
engine = ui.get_engine()
ui.ensure_data(engine, t)
user = ui.current_user(engine)
pg = st.navigation(ui.navigation_pages(t, user), position="sidebar" if user else "hidden",
                   expanded=True)
if user is None:
    pg.run()  # the login page
else:
    ui.run(pg, ui.page_context(user))
