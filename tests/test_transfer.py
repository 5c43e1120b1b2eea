"""Full export and restore (lib.transfer, issue 13 part 5): the fixture province → zip → an empty
database of the backend under test (a new SQLite file, or a new PostgreSQL database in the
PostgreSQL pass) gives equal tables, hash for hash (password hashes and timestamps included), and
equal overview, tier, plan, four-rates and churn figures for the province and every city. Refusals
(a target that is not empty, a damaged or foreign zip, a newer schema, bad rows) change nothing.
"""
from __future__ import annotations

import json
import math
import os
import sys
import uuid
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lib import development, four_rates, queries, tiers, tracking, transfer
from lib.db import make_engine

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
from db_hash import table_hashes  # noqa: E402 - scripts/ is not a package

MONTH = "2026-10"  # the fixture's last month (conftest)


def _new_database(tmp: Path, backend: str | None = None) -> str:
    """URL of a new empty database: a SQLite file, or (PostgreSQL pass) a new database on the server."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base or backend == "sqlite":
        return f"sqlite:///{tmp / f'{uuid.uuid4().hex[:8]}.db'}"
    name = f"x_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(base).set(database=name).render_as_string(hide_password=False)


def _drop(url: str) -> None:
    if url.startswith("postgresql"):
        admin = create_engine(os.environ["TEST_DATABASE_URL"], isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def exported(fixture_url, tmp_path_factory) -> Path:
    """The fixture province exported once."""
    out = tmp_path_factory.mktemp("transfer") / "company.zip"
    eng = make_engine(fixture_url)
    transfer.export(eng, out)
    eng.dispose()
    return out


@pytest.fixture(scope="module")
def restored(exported, tmp_path_factory):
    """An engine on a new database of the backend under test, the export restored into it."""
    url = _new_database(tmp_path_factory.mktemp("restored"))
    eng = make_engine(url)
    lines: list[str] = []
    transfer.restore(eng, exported, lines.append)
    eng.restore_progress = lines
    yield eng
    eng.dispose()
    _drop(url)


def _hashes(url: str) -> dict:
    return table_hashes(url, include_volatile=True)


def test_every_table_equal_after_restore(fixture_url, restored):
    source = _hashes(fixture_url)
    assert source["customer"][0] == 2500 and source["app_user"][0] > 0 and source["audit_log"][0] > 0
    assert _hashes(restored.url.render_as_string(hide_password=False)) == source


def test_manifest_counts_and_progress(exported, restored, engine):
    with zipfile.ZipFile(exported) as zf:
        manifest = json.loads(zf.read(transfer.MANIFEST))
        names = set(zf.namelist())
    with engine.connect() as conn:
        rev = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
        consumption = conn.execute(text("SELECT COUNT(*) FROM monthly_consumption")).scalar_one()
    assert manifest["schema_revision"] == rev
    files = manifest["files"]
    assert files["tables/monthly_consumption.csv"]["rows"] == consumption
    assert {"tables/grid.geojson", "tables/org_unit.geojson", "tables/app_user.csv", "tables/audit_log.csv",
            "tables/customer_monthly.csv", "tables/station_monthly.csv"} <= set(files) <= names
    assert all(len(f["sha256"]) == 64 for f in files.values())
    assert any(line.startswith("import monthly_consumption: ") for line in restored.restore_progress)


def _scopes(engine) -> list[str]:
    with engine.connect() as conn:
        cities = conn.execute(text("SELECT path FROM org_unit WHERE level = 'city' ORDER BY path")).scalars().all()
        prov = conn.execute(text("SELECT path FROM org_unit WHERE level = 'province'")).scalar_one()
    assert cities
    return [prov, *cities]


FIGURES = {
    "overview": queries.overview,
    "tiers": tiers.summary,
    "tier_distribution": tiers.distribution,
    "plan": development.summary,
    "plan_rollup": lambda e, s, m: development.rollup(e, s, m, "district"),
    "four_rates": four_rates.summary,
    "four_rates_stations": four_rates.station_table,
    "churn": tracking.summary,
    "churn_warnings": tracking.churn_warnings,
}


def _sorted(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in one order: by the columns that are not floats (a GROUP BY without ORDER BY lists them
    in any order)."""
    keys = [c for c in df.columns if not pd.api.types.is_float_dtype(df[c])]
    return df.sort_values(keys, na_position="first", kind="stable").reset_index(drop=True) if keys else df


def _same(a, b) -> bool:
    """Equal figures. Floats within 1e-9 relative: the tables are equal bit for bit (hashes), but
    PostgreSQL sums floats in the order its plan reads the rows, which a reload may change."""
    if isinstance(a, pd.DataFrame):
        if not isinstance(b, pd.DataFrame) or list(a.columns) != list(b.columns) or len(a) != len(b):
            return False
        try:
            pd.testing.assert_frame_equal(_sorted(a), _sorted(b), check_exact=False, rtol=1e-9, atol=1e-9)
        except AssertionError:
            return False
        return True
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9) or (a != a and b != b)
    return a == b


@pytest.mark.parametrize("name", list(FIGURES), ids=list(FIGURES))
def test_figures_equal_for_province_and_every_city(engine, restored, name):
    fn = FIGURES[name]
    for scope in _scopes(engine):
        before, after = fn(engine, scope, MONTH), fn(restored, scope, MONTH)
        assert _same(before, after), f"{name} differs for {scope}"
    province = fn(restored, _scopes(engine)[0], MONTH)  # the comparison is not vacuous: real figures
    assert len(province) > 0 and not _same(province, {})


def test_new_rows_get_new_ids_after_restore(restored):
    """Sequences (PostgreSQL) continue after the loaded ids: a new audit row does not collide."""
    from lib import auth
    from lib.db import write

    with restored.connect() as conn:
        top = conn.execute(text("SELECT MAX(id) FROM audit_log")).scalar_one()
    with write(restored) as conn:
        auth.audit(conn, "test", "transfer_check", "audit_log", 0)
    with restored.connect() as conn:
        new = conn.execute(text("SELECT MAX(id) FROM audit_log")).scalar_one()
        conn.execute(text("SELECT 1"))
    assert new == top + 1
    with write(restored) as conn:  # leave the restored copy as it was for the other tests
        conn.execute(text("DELETE FROM audit_log WHERE id = :i"), {"i": new})


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="cross-backend: PostgreSQL pass only")
def test_postgresql_export_restores_into_sqlite(exported, engine, tmp_path):
    url = _new_database(tmp_path, "sqlite")
    eng = make_engine(url)
    transfer.restore(eng, exported)
    for scope in _scopes(engine):
        assert _same(queries.overview(engine, scope, MONTH), queries.overview(eng, scope, MONTH)), scope
        assert _same(four_rates.summary(engine, scope, MONTH), four_rates.summary(eng, scope, MONTH)), scope
    eng.dispose()


def test_exported_files_feed_the_importer(exported, restored):
    """Files of tables with an import kind carry its keys: a dry run of the consumption, traffic,
    customer, visit and grid files into the restored copy passes every check."""
    from _import_as import import_file

    with zipfile.ZipFile(exported) as zf:
        for kind, fname in (("consumption", "tables/monthly_consumption.csv"),
                            ("traffic", "tables/station_traffic.csv"), ("customers", "tables/customer.csv"),
                            ("visits", "tables/visit.csv"), ("grids", "tables/grid.geojson")):
            data = zf.read(fname)
            report = import_file(restored, kind, data, fname.rsplit("/", 1)[1], dry_run=True)
            assert report.ok, (kind, report.errors[:3])
            assert report.rows == json.loads(zf.read(transfer.MANIFEST))["files"][fname]["rows"] > 0


# --- refusals ---------------------------------------------------------------------------------------


def _rewrite(src: Path, dst: Path, change) -> None:
    """Copy the zip `src` to `dst`, passing each member through change(name, bytes) → bytes."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            zout.writestr(name, change(name, zin.read(name)))


def _with_checksums(manifest: bytes, files: dict[str, bytes]) -> bytes:
    import hashlib

    m = json.loads(manifest)
    for name, data in files.items():
        m["files"][name].update(bytes=len(data), sha256=hashlib.sha256(data).hexdigest())
    return json.dumps(m).encode()


def _no_rows(url: str) -> bool:
    return transfer.non_empty_table(make_engine(url)) is None


def _dup_first_customer(data: bytes) -> bytes:
    lines = data.split(b"\r\n")
    return b"\r\n".join(lines[:2] + lines[1:])


def _cases(exported: Path, tmp: Path) -> dict[str, tuple[Path, str]]:
    """name → (a broken zip, a word of the expected message)."""
    cases = {}
    p = tmp / "changed.zip"
    _rewrite(exported, p, lambda n, b: b.replace(b"2026-10", b"2026-09", 1) if n.endswith("monthly_consumption.csv") else b)
    cases["changed_file"] = (p, "checksum")
    p = tmp / "truncated.zip"
    p.write_bytes(exported.read_bytes()[: exported.stat().st_size // 2])
    cases["truncated"] = (p, "zip")
    p = tmp / "foreign.zip"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("customers.csv", "code,name\n")
    cases["no_manifest"] = (p, "manifest")
    p = tmp / "newer.zip"
    _rewrite(exported, p, lambda n, b: json.dumps(dict(json.loads(b), schema_revision="9999_future")).encode()
             if n == transfer.MANIFEST else b)
    cases["newer_schema"] = (p, "newer")
    p = tmp / "missing.zip"
    with zipfile.ZipFile(exported) as zin, zipfile.ZipFile(p, "w") as zout:
        for name in zin.namelist():
            if not name.endswith("grid.geojson"):
                zout.writestr(name, zin.read(name))
    cases["missing_file"] = (p, "missing")
    p = tmp / "duplicate.zip"  # checksums right, data wrong: fails inside the load, rolled back
    with zipfile.ZipFile(exported) as zin:
        bad = _dup_first_customer(zin.read("tables/customer.csv"))
        _rewrite(exported, p, lambda n, b: bad if n == "tables/customer.csv" else
                 _with_checksums(b, {"tables/customer.csv": bad}) if n == transfer.MANIFEST else b)
    cases["duplicate_row"] = (p, "nothing was loaded")
    return cases


CASES = ("changed_file", "truncated", "no_manifest", "newer_schema", "missing_file", "duplicate_row")


@pytest.mark.parametrize("case", CASES, ids=CASES)
def test_broken_zip_refused_target_stays_empty(exported, tmp_path, case):
    zip_path, word = _cases(exported, tmp_path)[case]
    url = _new_database(tmp_path)
    try:
        with pytest.raises(transfer.TransferError, match=word):
            transfer.restore(make_engine(url), zip_path)
        assert _no_rows(url)
    finally:
        _drop(url)


def test_non_empty_target_refused_and_unchanged(exported, restored, fixture_url):
    url = restored.url.render_as_string(hide_password=False)
    before = _hashes(url)
    with pytest.raises(transfer.TransferError, match="not empty"):
        transfer.restore(restored, exported)
    assert _hashes(url) == before == _hashes(fixture_url)


def test_command_line(exported, restored, tmp_path, capsys):
    url = restored.url.render_as_string(hide_password=False)
    out = tmp_path / "again.zip"
    assert transfer.main(["export", "--db", url, "--out", str(out)]) == 0
    assert "wrote " in capsys.readouterr().err
    with zipfile.ZipFile(out) as a, zipfile.ZipFile(exported) as b:  # same data → same files
        ma, mb = json.loads(a.read(transfer.MANIFEST)), json.loads(b.read(transfer.MANIFEST))
    assert {k: v["sha256"] for k, v in ma["files"].items()} == {k: v["sha256"] for k, v in mb["files"].items()}
    assert transfer.main(["import", "--db", url, str(out)]) == 2
    assert "error: the target database is not empty" in capsys.readouterr().err


def test_import_kinds_table_names_real_columns():
    """Every row of IMPORT_KINDS names a table and columns of the schema, and a derived key never
    shadows a column (the integrator completes the table as import kinds land)."""
    meta = transfer.models_metadata()
    for table, (_, derived) in transfer.IMPORT_KINDS.items():
        assert table in meta.tables, table
        cols = meta.tables[table].c
        for key, spec in derived.items():
            assert key not in cols, (table, key)
            assert spec[0] in ("ref", "path") and spec[1] in cols, (table, key)
            if spec[0] == "ref":
                assert spec[3] in meta.tables[spec[2]].c, (table, key)


def test_awkward_cells_survive(fresh_url, tmp_path):
    """NULL beside "" in one column (written \\N), a column of "" only, commas, quotes, newlines,
    CJK, exact floats, microseconds, and a boundary that is not one-line JSON come back as they were."""
    from lib.db import upgrade, write

    src = make_engine(fresh_url)
    upgrade(src)
    multi_line = '{\n  "type": "Polygon",\n  "coordinates": [[[117, 36], [117.1, 36], [117, 36.1], [117, 36]]]}'
    with write(src) as conn:
        conn.execute(text(
            "INSERT INTO org_unit (id, code, name, name_en, level, parent_id, path, manager_name, manager_phone,"
            " boundary, lon, lat, staff, adcode) VALUES"
            " (1, '37', '山东, \"省\"', 'a\nb', 'province', NULL, '/37/', '', '', NULL, 0.30000000000000004, NULL, 3, NULL),"
            " (2, '3701', '济南', '', 'city', 1, '/37/3701/', '', '', :b, 117.0, 36.0, 0, ''),"
            " (3, '3702', '\\N', '', 'city', 1, '/37/3702/', '', '', '{\"type\": \"Point\", \"coordinates\": [1, 2]}',"
            " 1e-300, -0.0, 0, '370200')"), {"b": multi_line})
        conn.execute(text(
            "INSERT INTO audit_log (id, at, actor, action, entity, entity_id, before, after, org_path) VALUES"
            " (7, :at, 'x', 'y', 'z', '1', '', '{\"k\": \"值\"}', '/')"), {"at": "2026-01-02 03:04:05.678901"})
    zip_path = tmp_path / "awkward.zip"
    manifest = transfer.export(src, zip_path)
    assert manifest["files"]["tables/org_unit.geojson"]["null_marker"] == ["adcode"]
    assert manifest["files"]["tables/audit_log.csv"]["empty_is_text"] == ["before"]
    url = _new_database(tmp_path)
    try:
        dst = make_engine(url)
        upgrade(dst)  # an empty schema already there (e.g. the app started once) is fine
        transfer.restore(dst, zip_path)
        src_url = src.url.render_as_string(hide_password=False)
        assert _hashes(url) == _hashes(src_url)
        with dst.connect() as conn:
            assert conn.execute(text("SELECT boundary FROM org_unit WHERE id = 2")).scalar_one() == multi_line
            assert conn.execute(text("SELECT adcode FROM org_unit ORDER BY id")).scalars().all() == [None, "", "370200"]
        dst.dispose()
    finally:
        src.dispose()
        _drop(url)
