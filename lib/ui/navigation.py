"""Page registry and navigation 页面与导航: every page's file, title, icon and section, in one place.

Who may open a page is the permission `page.<name>` of `lib.auth.PERMISSIONS`; the navigation, the
page guard, the drill-down links and the tests all read it from there.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from lib import auth
from lib.ui.login import login_page


@dataclass(frozen=True)
class PageSpec:
    """A page of the app: file, catalog key of its title, Material icon, navigation section."""

    path: str
    title_key: str
    icon: str
    section: str

    @property
    def name(self) -> str:
        """The page's name: its file stem, also its URL path ("pages/plan.py" → "plan")."""
        return Path(self.path).stem

    @property
    def action(self) -> str:
        """The permission that opens this page (lib.auth.PERMISSIONS)."""
        return f"page.{self.name}"

    @property
    def roles(self) -> frozenset[str]:
        """The roles that may open this page."""
        return auth.roles_for(self.action)


# Page titles, icons and sections live here only (STYLE §1). Sections are catalog keys.
PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "page.overview", ":material/dashboard:", "nav.dashboards"),
    # --- dashboards (issue 5) ---
    PageSpec("pages/tiers.py", "page.tiers", ":material/stacked_bar_chart:", "nav.dashboards"),
    PageSpec("pages/plan.py", "page.plan", ":material/flag:", "nav.dashboards"),
    PageSpec("pages/four_rates.py", "page.four_rates", ":material/speed:", "nav.dashboards"),
    PageSpec("pages/churn.py", "page.churn", ":material/person_remove:", "nav.dashboards"),
    PageSpec("pages/reports.py", "page.reports", ":material/summarize:", "nav.dashboards"),
    # --- maps (issue 4) ---
    PageSpec("pages/grid_map.py", "page.grid_map", ":material/map:", "nav.maps"),
    PageSpec("pages/customer_map.py", "page.customer_map", ":material/radar:", "nav.maps"),
    PageSpec("pages/grid_edit.py", "page.grid_edit", ":material/edit_location_alt:", "nav.maps"),
    # --- daily work (issue 6) ---
    PageSpec("pages/customers.py", "page.customers", ":material/contacts:", "nav.work"),
    PageSpec("pages/visits.py", "page.visits", ":material/event_available:", "nav.work"),
    PageSpec("pages/matters.py", "page.matters", ":material/assignment_late:", "nav.work"),
    PageSpec("pages/managers.py", "page.managers", ":material/badge:", "nav.work"),
    PageSpec("pages/imports.py", "page.imports", ":material/upload_file:", "nav.work"),
    PageSpec("pages/stations.py", "page.stations", ":material/local_gas_station:", "nav.work"),
    PageSpec("pages/surveys.py", "page.surveys", ":material/travel_explore:", "nav.work"),  # 002 §6.5.1–6.5.2
    # --- meeting room (issue 8) ---
    PageSpec("pages/presentation.py", "page.presentation", ":material/slideshow:", "nav.meeting"),
    PageSpec("pages/audit.py", "page.audit", ":material/history:", "nav.admin"),
    PageSpec("pages/admin_users.py", "page.admin_users", ":material/manage_accounts:", "nav.admin"),
    PageSpec("pages/checklist.py", "page.checklist", ":material/checklist:", "nav.admin"),
    PageSpec("pages/setup.py", "page.setup", ":material/account_tree:", "nav.admin"),
)


def page_spec(path: str) -> PageSpec | None:
    """Return the registered page with file `path`, or None."""
    return next((spec for spec in PAGES if spec.path == path), None)


def may_open(user, path: str) -> bool:
    """True when `path` is a registered page and `user` (a SessionUser or a role) may open it."""
    spec = page_spec(path)
    return spec is not None and auth.can(user, spec.action)


def allowed_pages(role: str) -> list[PageSpec]:
    """Return the pages `role` may open, in navigation order."""
    return [spec for spec in PAGES if auth.can(role, spec.action)]


def navigation_pages(t: Callable[..., str], user: auth.SessionUser | None) -> dict[str, list]:
    """Return the st.navigation mapping {section: [st.Page, …]}: only the pages `user` may open.

    Without a user the only page is the login page.
    """
    if user is None:
        # Every page's URL shows the login page, so a deep link (…/plan) logs in and then opens
        # that page instead of "page not found".
        login = [st.Page(login_page, title=t("login.title"), icon=":material/login:", url_path="login", default=True)]
        login += [st.Page(login_page, title=t("login.title"), url_path=spec.name) for spec in PAGES]
        return {"": login}
    sections: dict[str, list] = {}
    for i, spec in enumerate(allowed_pages(user.role)):
        page = st.Page(spec.path, title=t(spec.title_key), icon=spec.icon, default=(i == 0))
        sections.setdefault(t(spec.section), []).append(page)
    return sections
