"""Message catalogs: both languages have the same keys, and every key the code uses exists."""
import re
from pathlib import Path

import pytest

from lib import customers, importer, vocab
from lib.i18n import LANGUAGES, catalog, translator

ROOT = Path(__file__).resolve().parent.parent
KEY_CALL = re.compile(r"""(?:\bt\(|\bmd\(\s*t\s*,)\s*["']([a-z_]+(?:\.[a-z_0-9]+)+)["']""")  # t(…), ui.md(t, …)
# Keys built at run time from a fixed vocabulary: "prefix.{x}" for every x listed here.
DYNAMIC = {
    "rate": ["entry_rate", "fill_up_rate", "return_rate", "pass_through_rate"],
    "language": list(LANGUAGES),
    "role": ["province_admin", "province_viewer", "city_manager", "district_manager", "station_manager",
             "customer_manager"],
    "admin.col": ["login", "display_name", "role", "unit", "active", "failed_attempts", "locked_until", "source", "at",
                  "kind", "until"],
    "bootstrap.step": ["org", "grids", "customers", "consumption", "traffic", "work", "summary", "done"],
    # maps (issue 4)
    "maps.measure": ["customers", "volume", "volume_per_customer", "plan_completion", "entry_rate", "fill_up_rate",
                     "return_rate", "pass_through_rate"],
    "maps.bg": ["none", "osm", "amap", "intranet"],
    "maps.layer": ["grids", "stations", "own", "potential", "competitor", "competitor_stations", "heat", "partition",
                   "district", "editing"],
    "maps.grade": ["graded", "regular", "reform"],
    "maps.glyph": ["graded", "regular", "reform"],
    "maps.status": ["existing", "potential", "competitor", "lost"],
    # dashboards (issue 5): page variants
    "churn": ["kind_institutional", "kind_personal", "kind_all"],
    "plan": ["completion_card", "completion_inst"],
    # import messages (issue 6)
    "err": list(__import__("lib.validation", fromlist=["CODES"]).CODES),  # errors of forms and imports
    "imp.kind": list(importer.KINDS),
    "imp.stage": ["read", "check", "write", "done"],
    "imp.help": list(importer.KINDS),
    # table headers col.*, code values val.* / tier.* / kind.* / level.*, tier-rule explanations (lib.vocab)
    **vocab.I18N_DYNAMIC,
    # setup checklist (issue 13)
    "checklist.check": list(__import__("lib.checklist", fromlist=["CHECK_KEYS"]).CHECK_KEYS),
    "checklist.hint": list(__import__("lib.checklist", fromlist=["CHECK_KEYS"]).CHECK_KEYS),
    "checklist.status": list(__import__("lib.checklist", fromlist=["STATUSES"]).STATUSES),
    "checklist.unit": list(__import__("lib.checklist", fromlist=["UNITS"]).UNITS),
    # organisation setup (pages/setup.py): field labels of the setup table, unit list and refusals
    "org.field": ["level", "kind", "adcode", "code", "city", "official", "name", "keep", "area", "parent_code",
                  "manager_name", "manager_phone", "has_boundary", "path", "boundary", "province", "cities",
                  "districts", "renames", "areas"],
    # sessions and logins (issue 14): why a session ended (lib.ui.login._ENDED), login attempt kinds
    "login": ["ended", "ended_password_reset", "ended_role_changed"],
    "admin": ["kind_fail", "kind_ok", "kind_unlock"],
}


def _code_files():
    yield ROOT / "app.py"
    yield from (ROOT / "pages").glob("*.py")
    yield from (ROOT / "lib").glob("*.py")


def used_keys() -> set[str]:
    keys = set()
    for path in _code_files():
        keys |= set(KEY_CALL.findall(path.read_text(encoding="utf-8")))
    from lib.ui import PAGES

    for spec in PAGES:
        keys |= {spec.title_key, spec.section}
    for prefix, names in DYNAMIC.items():
        keys |= {f"{prefix}.{n}" for n in names}
    return keys


def test_catalogs_have_the_same_keys():
    zh, en = set(catalog("zh")), set(catalog("en"))
    assert zh - en == set(), "keys only in zh.toml"
    assert en - zh == set(), "keys only in en.toml"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_used_key_is_in_the_catalog(lang):
    keys = used_keys()
    assert len(keys) > 40  # the scan found the code's keys
    missing = sorted(k for k in keys if k not in catalog(lang))
    assert missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_placeholders_match_between_languages(lang):
    fields = re.compile(r"{(\w+)}")
    for key, message in catalog(lang).items():
        other = catalog("en" if lang == "zh" else "zh")[key]
        assert set(fields.findall(message)) == set(fields.findall(other)), key


def test_translator_is_per_language_not_global():
    zh, en = translator("zh"), translator("en")
    assert zh("page.overview") == "总览"
    assert en("page.overview") == "Overview"
    assert zh("page.overview") == "总览"  # unchanged after building the English one


@pytest.mark.parametrize("lang", LANGUAGES)
def test_table_keys_are_exactly_the_vocabulary(lang):
    """Every col.* and val.* key of the catalog belongs to lib.vocab and the other way round, so a
    column or value is added in one place (the vocabulary) plus its catalog entry."""
    expected = {f"col.{c}" for c in vocab.COLUMNS}
    expected |= {f"col.{f.key}" for f in customers.extra_fields()}  # extension fields: spec row + label
    expected |= {vocab.value_key(v, x) for v, xs in vocab.VALUES.items() if v not in vocab.SHARED_VALUE_KEYS
                 for x in xs}
    got = {k for k in catalog(lang) if k.startswith(("col.", "val."))}
    assert got == expected


def test_the_old_table_namespaces_are_gone():
    """One namespace for table labels: no dcol/wcol/dval/wval/drule key in a catalog or the code."""
    old = re.compile(r"\b(dcol|wcol|dval|wval|drule)\.")
    assert [k for k in catalog("zh") if old.match(k)] == []
    assert [p.name for p in _code_files() if old.search(p.read_text(encoding="utf-8"))] == []
