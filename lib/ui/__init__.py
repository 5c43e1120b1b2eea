"""Streamlit frame 界面框架: the only part of `lib` that imports streamlit. Pages use `from lib import ui`.

- `frame`: PageContext, one script run's setup (`page_context`, `run`), the page `guard`, drill-down links.
- `bootstrap`: the engine, first start with the demo province.
- `navigation`: the page registry `PAGES` (title, icon, section; roles from lib.auth.PERMISSIONS).
- `login`: login page, first-admin form, the session check (`session_check`, `fragment`), logout. `language_switch`: 中文/English.
- `sidebar`: scope and month pickers. `tables`: table widget and download buttons.
- `cache`: `cached(fn)` readers and `invalidate(*areas)` after a write.
- `forms`: a form widget per spec field (`field_widget`).
- `text`: `md_escape(value)` and `md(t, key, **params)`, data shown literally inside Markdown 文本转义.
- `map_assets`: the URL maps load Leaflet from. `presentation`: slide HTML and charts, briefing downloads. `keys`: every session-state key, `Keys`.
"""
from lib.i18n import DEFAULT_LANGUAGE, LANGUAGES, translator  # noqa: F401 (re-exported for app.py)
from lib.ui import cases, forms, tables  # noqa: F401 (tests patch tables.TABLE_ROWS; cases: the development case forms)
from lib.ui.bootstrap import demo_mode, ensure_data, get_engine
from lib.ui.cache import (
                          AREAS,
                          IMPORT_AREAS,
                          areas_of,
                          cached,
                          default_scope_and_month,
                          engine_key,
                          invalidate,
                          months,
                          org_units,
)
from lib.ui.forms import coordinate_input, field_label, field_widget, location_picker
from lib.ui.frame import PageContext, guard, page_context, page_link, run, scope_name
from lib.ui.keys import Keys
from lib.ui.language_switch import language, language_picker
from lib.ui.login import (
    current_user,
    first_admin_form,
    fragment,
    login_page,
    logout,
    secrets_equal,
    session_check,
    session_timeout,
)
from lib.ui.map_assets import map_asset_base
from lib.ui.navigation import PAGES, PageSpec, allowed_pages, may_open, navigation_pages, page_spec
from lib.ui.presentation import PRESENTATION_CSS, briefing_downloads, slide_chart, slide_html
from lib.ui.sidebar import unit_label
from lib.ui.tables import TABLE_ROWS, download_buttons, import_downloads, table
from lib.ui.text import md, md_escape

__all__ = [
    "AREAS", "DEFAULT_LANGUAGE", "IMPORT_AREAS", "LANGUAGES", "PAGES", "PRESENTATION_CSS", "TABLE_ROWS", "Keys",
    "PageContext", "PageSpec", "allowed_pages", "areas_of", "briefing_downloads", "cached", "current_user",
    "coordinate_input", "default_scope_and_month", "demo_mode", "download_buttons", "engine_key", "ensure_data", "field_label", "field_widget", "first_admin_form",
    "get_engine", "guard", "import_downloads", "invalidate", "language", "language_picker", "location_picker", "login_page", "logout", "map_asset_base", "may_open",
    "months", "navigation_pages", "org_units", "page_context", "page_link", "page_spec", "run", "scope_name",
    "secrets_equal", "session_timeout", "slide_chart", "slide_html", "table", "translator", "unit_label",
    "fragment", "session_check",
    "md", "md_escape",
]
