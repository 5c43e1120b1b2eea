"""Cross-page tests: every page file is registered and has its own test module, every page opens in
both languages without raw catalog keys, and every page guards itself (no login, wrong role).
The role × page scope matrix is in tests/test_scope.py; each page's own tests in test_page_<name>.py."""
from __future__ import annotations

from pathlib import Path

import pytest
from apptest_helpers import ROOT, app, open_page, rendered_text

from lib import auth
from lib.ui import PAGES

HERE = Path(__file__).resolve().parent


def test_every_page_has_its_own_test_module_with_tests():
    """The registry check: each page of lib.ui PAGES has tests/pages/test_page_<name>.py, which opens it."""
    missing = []
    for spec in PAGES:
        module = HERE / f"test_page_{spec.name}.py"
        source = module.read_text(encoding="utf-8") if module.exists() else ""
        if "def test_" not in source or spec.path not in source:
            missing.append(spec.name)
    assert missing == []


def test_every_page_file_is_registered():
    files = {f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py")}
    assert files == {spec.path for spec in PAGES}


@pytest.mark.parametrize("spec", PAGES, ids=[s.path for s in PAGES])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_page_smoke(fixture_url, spec, lang):
    at = open_page(spec.path, lang=lang)
    if spec.path != "pages/presentation.py":  # the slide show has headlines, not a page title
        assert at.title, "page shows a title"
    from lib.i18n import catalog

    shown = rendered_text(at) + " ".join(str(getattr(w, "label", "")) for w in at.selectbox) + \
        " ".join(str(getattr(w, "label", "")) for w in at.button)
    raw = [key for key in catalog(lang) if len(key) > 8 and key in shown]
    assert raw == [], "raw catalog keys shown instead of text"


@pytest.mark.parametrize("spec", PAGES, ids=[s.path for s in PAGES])
def test_page_file_run_directly_without_login_shows_login(fixture_url, spec):
    """Streamlit's pages/ auto-discovery runs a page file without app.py: its guard must hold."""
    at = app(None, path=spec.path)
    at.run()
    assert not at.exception
    assert len(at.metric) == 0 and len(at.dataframe) == 0
    assert "密码" in [ti.label for ti in at.text_input]


@pytest.mark.parametrize("login", [u[0] for u in auth.DEMO_USERS])
@pytest.mark.parametrize("spec", PAGES, ids=[s.path for s in PAGES])
def test_page_guard_refuses_roles_without_access(fixture_url, spec, login):
    """Run each page file directly, logged in as each role: a role without access sees a refusal."""
    from lib.ui import allowed_pages

    role = next(u[2] for u in auth.DEMO_USERS if u[0] == login)
    at = app(login, path=spec.path)
    at.run()
    assert not at.exception
    if spec in allowed_pages(role):
        assert not at.error, [e.value for e in at.error]
    else:
        assert [e.value for e in at.error] == ["您的角色无权打开此页面。"]
        assert len(at.metric) == 0 and len(at.dataframe) == 0


