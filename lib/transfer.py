"""Full export and restore 全量导出与恢复: every table of the company to one zip, and back into an
empty database (SQLite or PostgreSQL). Also the documented way from the embedded SQLite to PostgreSQL:

    python -m lib.transfer export --db sqlite:///data/gridcrm.db --out company.zip
    python -m lib.transfer import --db postgresql://user@host/gridcrm company.zip

The zip holds, per table of `lib.models` (named by table, not by import kind, so a table another
branch adds is exported without a change here):
- `tables/<table>.csv`: UTF-8 with BOM (Excel opens it as is), one row per row. Where an import kind
  exists for the table (`IMPORT_KINDS`), the header starts with that kind's keys, reference keys
  included (`station_code` beside `station_id`), so the file can be fed to
  `lib.importer.import_file` of that kind (the importer ignores the extra columns); then every other
  column under its own name, ids included, so the restore is exact.
- `tables/<table>.geojson` instead of a CSV for the tables holding GeoJSON (`GEOMETRY`: org unit
  boundaries 组织边界, grids 网格, patches 包区): a FeatureCollection, one feature per row, the cells
  as text properties, the stored geometry text written verbatim as the feature's geometry.
- `manifest.json`: format, schema revision (Alembic), export time, source dialect, and per file its
  table, columns, row count and SHA-256.

Cells: NULL is an empty cell; an empty string is an empty cell too, except in a nullable text
column holding both, where NULL is written `\\N` (the manifest says so per column). Floats as
`repr` (exact), booleans 1/0, dates ISO 8601, JSON as JSON text. Users keep their password hashes
(密码哈希), and the audit log 审计日志 is exported like any table. The summary tables
(customer_monthly, station_monthly) are exported and restored as they are: the restore is exact and
needs no recomputation.

The import refuses, before writing anything: a file that is not such a zip, a manifest or checksum
that does not match, a schema revision this code does not know (a newer one), and a target
database holding any row. It brings the empty target to the export's schema revision, loads every
table in one transaction (all or nothing: a failure leaves every table empty), sets the PostgreSQL
sequences, then upgrades to the current schema. Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import csv
import datetime as dt
import hashlib
import io
import itertools
import json
import sys
import time
import warnings
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import Connection, Engine

FORMAT = "gridcrm-transfer/1"
MANIFEST = "manifest.json"
NULL = "\\N"
BATCH = 20_000

# Tables whose GeoJSON text column is written as a GeoJSON FeatureCollection (the file of the grid
# import kind is one; org boundaries 组织边界 and patches 包区 alike).
GEOMETRY = {"org_unit": "boundary", "grid": "geometry", "patch": "geometry"}

# table → (import kind, derived keys). Derived keys are the import's reference columns computed from
# the row: ("ref", fk column, referenced table, referenced column), or ("path", column, segment)
# for a code read from an org path "/37/3701/370102/S001/" (segment -1 = the last code). The
# other import keys are columns of the same name. Kinds added on other branches (org_units,
# stations, competitor_stations, managers, users, targets, rate_targets, station_sales, surveys):
# the integrator completes their rows as their keys settle. `RENAMES` holds a column written
# under another header (column → import key) where a key differs from a column name.
IMPORT_KINDS: dict[str, tuple[str, dict[str, tuple]]] = {
    "customer": ("customers", {"station_code": ("ref", "station_id", "station", "code"),
                               "grid_code": ("ref", "grid_id", "grid", "code")}),
    "monthly_consumption": ("consumption", {"customer_code": ("ref", "customer_id", "customer", "code")}),
    "station_traffic": ("traffic", {"station_code": ("ref", "station_id", "station", "code")}),
    "visit": ("visits", {"customer_code": ("ref", "customer_id", "customer", "code")}),
    "grid": ("grids", {"station_code": ("ref", "station_id", "station", "code")}),
    "org_unit": ("org_units", {"parent_code": ("ref", "parent_id", "org_unit", "code")}),
    "station": ("stations", {"district_code": ("path", "org_path", -2)}),
    "competitor_station": ("competitor_stations", {"district_code": ("path", "org_path", -1)}),
    "customer_manager": ("managers", {"station_code": ("path", "org_path", -1)}),
    "app_user": ("users", {"org_code": ("ref", "org_unit_id", "org_unit", "code")}),
    "development_plan": ("targets", {"org_code": ("ref", "org_unit_id", "org_unit", "code")}),
    "four_rate_target": ("rate_targets", {"station_code": ("ref", "station_id", "station", "code")}),
    "station_sales": ("station_sales", {"station_code": ("ref", "station_id", "station", "code")}),
    "survey_submission": ("surveys", {"station_code": ("ref", "org_unit_id", "org_unit", "code")}),
    "development": ("development", {"customer_code": ("ref", "customer_id", "customer", "code"),
                                    "developer_code": ("ref", "developer_id", "customer_manager", "code")}),
}
RENAMES: dict[str, dict[str, str]] = {}

Progress = Callable[[str], None]


class TransferError(ValueError):
    """A refusal 拒绝: the file or the target database is not what an import needs; nothing was written."""


# --- cells ----------------------------------------------------------------------------------------


def _kind(col: sa.Column) -> str:
    t = col.type
    if isinstance(t, sa.Boolean):
        return "bool"
    if isinstance(t, sa.DateTime):
        return "datetime"
    if isinstance(t, sa.Date):
        return "date"
    if isinstance(t, sa.Integer):
        return "int"
    if isinstance(t, sa.Float | sa.Numeric):
        return "float"
    if isinstance(t, sa.JSON):
        return "json"
    return "text"


def _encoder(kind: str) -> Callable:
    if kind == "float":
        return repr
    if kind == "bool":
        return lambda v: "1" if v else "0"
    if kind == "datetime":
        return lambda v: v.isoformat(sep=" ") if isinstance(v, dt.datetime) else str(v)
    if kind == "date":
        return lambda v: v.isoformat() if isinstance(v, dt.date) else str(v)
    if kind == "json":
        return lambda v: json.dumps(v, ensure_ascii=False)
    return str


def _decoder(kind: str) -> Callable:
    if kind == "float":
        return float
    if kind == "int":
        return int
    if kind == "bool":
        return lambda s: s == "1"
    if kind == "datetime":
        return dt.datetime.fromisoformat
    if kind == "date":
        return dt.date.fromisoformat
    return lambda s: s  # text, and JSON kept as its text


def models_metadata() -> sa.MetaData:
    """The tables of `lib.models` 数据表 (what is exported and restored, in foreign-key order)."""
    import lib.models  # noqa: F401 - registers every table on Base.metadata
    from lib.models.base import Base

    return Base.metadata


def _script_directory():
    from alembic.script import ScriptDirectory

    from lib.db import alembic_config

    return ScriptDirectory.from_config(alembic_config(None))


def _revision(conn: Connection) -> str | None:
    if not sa.inspect(conn).has_table("alembic_version"):
        return None
    return conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()


class _HashingWriter(io.RawIOBase):
    """Bytes to a zip member, counting and hashing them on the way."""

    def __init__(self, raw):
        self.raw, self.sha, self.size = raw, hashlib.sha256(), 0

    def writable(self):
        return True

    def write(self, b):
        self.raw.write(b)
        self.sha.update(b)
        self.size += len(b)
        return len(b)


# --- export ---------------------------------------------------------------------------------------


def _empties(conn: Connection, cols: list[sa.Column]) -> tuple[list[str], list[str]]:
    """How empty cells read back in the nullable text columns (see the module doc): (columns holding
    both NULL and "", whose NULL is written `\\N`; columns holding "" and no NULL, whose empty cell is "")."""
    marker, text = [], []
    for c in cols:
        if c.nullable and _kind(c) == "text":
            has_null, has_empty = conn.execute(sa.select(
                sa.exists().where(c.is_(None)), sa.exists().where(c == ""))).one()
            if has_null and has_empty:
                marker.append(c.name)
            elif has_empty:
                text.append(c.name)
    return marker, text


def _lookups(conn: Connection, table: str, columns: set[str]) -> dict[str, tuple[str, Callable]]:
    """key → (source column, function(value) → text), for the derived import keys of `table` (IMPORT_KINDS)."""
    out = {}
    _, derived = IMPORT_KINDS.get(table, (None, {}))
    meta = models_metadata()
    for key, spec in derived.items():
        if spec[0] == "ref":
            _, fk, ref_table, ref_col = spec
            if fk not in columns or ref_table not in meta.tables:
                continue
            t = meta.tables[ref_table]
            codes = dict(conn.execute(sa.select(t.c.id, t.c[ref_col])).all())
            out[key] = (fk, lambda v, codes=codes: codes.get(v) or "")
        else:
            _, col, segment = spec
            if col not in columns:
                continue
            out[key] = (col, lambda v, segment=segment: v.strip("/").split("/")[segment] if v else "")
    return out


def _header(table: str, columns: list[str], lookups: dict) -> list[str]:
    """The file's header: the import kind's keys first (where the kind exists on this branch), then
    the derived keys and every remaining column (written under RENAMES)."""
    renames = RENAMES.get(table, {})
    names = [renames.get(c, c) for c in columns] + list(lookups)
    kind = IMPORT_KINDS.get(table, (None,))[0]
    first = []
    if kind:
        try:
            from lib.importer import specs

            first = [k for k, _, _ in specs.columns(kind) if k in names]
        except KeyError:  # the kind is not on this branch yet
            first = []
    return first + [n for n in names if n not in first]


def _batches(conn: Connection, table: sa.Table, cols: list[sa.Column]) -> Iterator[list]:
    """The rows of `table` in primary-key order, BATCH at a time (a server-side cursor on PostgreSQL)."""
    stmt = sa.select(*cols).order_by(*table.primary_key.columns)
    result = conn.execution_options(stream_results=True, yield_per=BATCH).execute(stmt)
    yield from result.partitions(BATCH)


def export(engine: Engine, out: str | Path, progress: Progress | None = None) -> dict:
    """Write every table of `engine` to the zip `out`; return its manifest (also stored in the zip).

    Read in one transaction (a consistent snapshot: REPEATABLE READ on PostgreSQL, one read
    transaction on SQLite), so a restore never sees half of a concurrent write."""
    progress = progress or (lambda msg: None)
    meta = models_metadata()
    t0 = time.perf_counter()
    manifest = {"format": FORMAT, "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "dialect": engine.dialect.name, "schema_revision": None, "files": {}}
    opts = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**opts) as conn, conn.begin(), \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        manifest["schema_revision"] = _revision(conn)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", sa.exc.SAWarning)
            present = {name: {c["name"] for c in sa.inspect(conn).get_columns(name)}
                       for name in sa.inspect(conn).get_table_names()}
        for table in meta.sorted_tables:
            if table.name not in present:
                continue
            cols = [c for c in table.columns if c.name in present[table.name]]
            names = [c.name for c in cols]
            lookups = _lookups(conn, table.name, set(names))
            geom = GEOMETRY.get(table.name) if GEOMETRY.get(table.name) in names else None
            marker, empty_text = _empties(conn, cols)
            enc = {c.name: _encoder(_kind(c)) for c in cols}
            header = _header(table.name, [n for n in names if n != geom], lookups)
            renames = {v: k for k, v in RENAMES.get(table.name, {}).items()}  # header → column
            fname = f"tables/{table.name}.{'geojson' if geom else 'csv'}"
            n = 0
            with zf.open(fname, "w", force_zip64=True) as raw:
                sink = _HashingWriter(raw)
                text = io.TextIOWrapper(io.BufferedWriter(sink, 1 << 20), encoding="utf-8", newline="")
                if geom:
                    text.write('{"type": "FeatureCollection", "features": [')
                else:
                    text.write("\ufeff")
                    writer = csv.writer(text, lineterminator="\r\n")
                    writer.writerow(header)
                for batch in _batches(conn, table, cols):
                    values = dict(zip(names, zip(*batch)))
                    cells = {}
                    for h in header:
                        if h in lookups:
                            src, fn = lookups[h]
                            cells[h] = [fn(v) for v in values[src]]
                            continue
                        col = renames.get(h, h)
                        e, none = enc[col], (NULL if col in marker else "")
                        cells[h] = ([none if v is None else v for v in values[col]] if e is str else
                                    [none if v is None else e(v) for v in values[col]])
                    if geom:
                        for i, g in enumerate(values[geom]):
                            props = {h: (None if h not in lookups and values[renames.get(h, h)][i] is None
                                         else cells[h][i]) for h in header}
                            text.write(("\n" if n == 0 else ",\n") + _feature(props, g))
                            n += 1
                    else:
                        writer.writerows(zip(*(cells[h] for h in header)))
                        n += len(batch)
                    if n % (5 * BATCH) == 0:
                        progress(f"export {table.name}: {n:,} rows")
                if geom:
                    text.write("\n]}\n")
                text.flush()
                text.detach()
            manifest["files"][fname] = {
                "table": table.name, "columns": names, "header": header, "geometry": geom,
                "null_marker": marker, "empty_is_text": empty_text, "rows": n, "bytes": sink.size, "sha256": sink.sha.hexdigest(),
                "kind": IMPORT_KINDS.get(table.name, (None,))[0]}
            if n == 0 or n % (5 * BATCH):  # else the loop has just said it
                progress(f"export {table.name}: {n:,} rows")
        zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
    progress(f"export done in {time.perf_counter() - t0:.1f} s")
    return manifest


def _feature(props: dict, geometry: str | None) -> str:
    """One GeoJSON feature on one line, the stored geometry text verbatim (or kept as the property
    `geometry_text` when it is not a one-line JSON object, so the restore stays exact)."""
    head = json.dumps({"type": "Feature", "properties": props}, ensure_ascii=False)[:-1]
    if geometry is None:
        return head + ', "geometry": null}'
    try:
        ok = "\n" not in geometry and "\r" not in geometry and isinstance(json.loads(geometry), dict)
    except ValueError:
        ok = False
    if ok:
        return f'{head}, "geometry": {geometry}}}'
    props = dict(props, geometry_text=geometry)
    return json.dumps({"type": "Feature", "properties": props, "geometry": None}, ensure_ascii=False)


# --- import ---------------------------------------------------------------------------------------


def _read_manifest(zf: zipfile.ZipFile) -> dict:
    try:
        manifest = json.loads(zf.read(MANIFEST).decode("utf-8"))
    except KeyError:
        raise TransferError(f"no {MANIFEST} in the zip: not an export of lib.transfer") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise TransferError(f"{MANIFEST} is not valid JSON: {exc}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"), dict):
        raise TransferError(f"{MANIFEST}: format is not {FORMAT}")
    return manifest


def verify(path: str | Path) -> dict:
    """Check the zip against its manifest (every file present, sizes and SHA-256 equal, known
    tables and columns, a schema revision this code knows); return the manifest or raise TransferError."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise TransferError(f"{path}: not a readable zip ({exc})") from None
    with zf:
        manifest = _read_manifest(zf)
        meta = models_metadata()
        for fname, info in manifest["files"].items():
            table = info.get("table")
            if table not in meta.tables:
                raise TransferError(f"{fname}: table {table!r} is not part of this version's schema")
            unknown = [c for c in info.get("columns", []) if c not in meta.tables[table].c]
            if unknown:
                raise TransferError(f"{fname}: column {unknown[0]!r} is not part of table {table}")
            sha = hashlib.sha256()
            size = 0
            try:
                with zf.open(fname) as f:
                    while chunk := f.read(1 << 20):
                        sha.update(chunk)
                        size += len(chunk)
            except KeyError:
                raise TransferError(f"{fname}: listed in the manifest, missing from the zip") from None
            except (zipfile.BadZipFile, OSError, EOFError) as exc:
                raise TransferError(f"{fname}: damaged in the zip ({exc})") from None
            if size != info.get("bytes") or sha.hexdigest() != info.get("sha256"):
                raise TransferError(f"{fname}: checksum differs from the manifest (file changed or damaged)")
    rev = manifest.get("schema_revision")
    if rev is not None:
        try:
            known = _script_directory().get_revision(rev)
        except Exception:  # noqa: BLE001 - alembic raises several kinds for an unknown revision
            known = None
        if known is None:
            raise TransferError(f"schema revision {rev!r} of the export is newer than (or unknown to) this "
                                "version: update the application before importing")
    return manifest


def non_empty_table(engine: Engine) -> str | None:
    """The first table of `engine` holding a row (alembic_version aside), or None."""
    with engine.connect() as conn:
        for name in sa.inspect(conn).get_table_names():
            if name == "alembic_version":
                continue
            if conn.exec_driver_sql(f'SELECT 1 FROM "{name}" LIMIT 1').first() is not None:
                return name
    return None


def _to_revision(engine: Engine, rev: str | None) -> None:
    """Bring the (empty) schema of `engine` to `rev` (up or down), creating it when absent."""
    from lib.db import downgrade, upgrade

    with engine.connect() as conn:
        current = _revision(conn)
    rev = rev or "head"
    if current is None or current == rev:
        if current is None:
            upgrade(engine, rev)
        return
    script = _script_directory()
    ancestors = {r.revision for r in script.iterate_revisions(current, "base")}
    (downgrade if rev in ancestors else upgrade)(engine, rev)


def _rows_of(zf: zipfile.ZipFile, fname: str, info: dict) -> tuple[list[str], Iterator[list]]:
    """(header, rows as lists of text or None) of one file. GeoJSON: the properties, then the
    geometry text verbatim under its column name."""
    raw = zf.open(fname)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
    if info.get("geometry"):
        geom = info["geometry"]
        header = [*info["header"], geom]

        def features() -> Iterator[list]:
            with text:
                for line in text:
                    line = line.rstrip("\r\n").rstrip(",")
                    if not line.startswith('{"type": "Feature"'):
                        continue
                    feat = json.loads(line)
                    props = feat["properties"]
                    if "geometry_text" in props:
                        g = props.pop("geometry_text")
                    elif feat.get("geometry") is None:
                        g = None
                    else:  # the stored text verbatim: the raw JSON value after "geometry":
                        start = line.rindex('"geometry": ') + len('"geometry": ')
                        g = line[start:json.JSONDecoder().raw_decode(line, start)[1]]
                    yield [*(props.get(h) for h in info["header"]), g]
        return header, features()
    reader = csv.reader(text)
    header = next(reader, None)
    if header != info["header"]:
        text.close()
        raise TransferError(f"{fname}: header differs from the manifest")
    return header, reader  # ragged rows are caught where the batch is transposed (zip strict)


def _column_decoder(kind: str, empty_text: bool, marker: bool) -> Callable[[tuple], list]:
    """Cells of one column (text, or None in GeoJSON) → values: see the module doc for empty cells."""
    if kind == "text":
        if marker:
            return lambda cells: [None if v == NULL else v for v in cells]
        if empty_text:
            return list
        return lambda cells: [v or None for v in cells]
    dec = _decoder(kind)
    return lambda cells: [None if v is None or v == "" else dec(v) for v in cells]


def _load_table(conn: Connection, zf: zipfile.ZipFile, fname: str, info: dict, progress: Progress) -> int:
    from lib.db import bulk_insert

    table = models_metadata().tables[info["table"]]
    names = info["columns"]
    renames = RENAMES.get(table.name, {})
    marker = set(info.get("null_marker", []))
    empty_text = set(info.get("empty_is_text", []))
    exact = bool(info.get("geometry"))  # GeoJSON properties: NULL is a JSON null, "" is ""
    header, rows = _rows_of(zf, fname, info)
    pos = {h: i for i, h in enumerate(header)}
    plan = []
    for name in names:
        col = table.c[name]
        if renames.get(name, name) not in pos:
            raise TransferError(f"{fname}: no column {name}")
        plan.append((name, pos[renames.get(name, name)], _column_decoder(
            _kind(col), not col.nullable or name in empty_text or exact, name in marker)))
    n = 0
    while batch := list(itertools.islice(rows, BATCH)):
        try:
            cells = list(zip(*batch, strict=True))
        except ValueError:
            width = len(header)
            i = next(i for i, row in enumerate(batch) if len(row) != width)
            raise TransferError(f"{fname}: row {n + i + 2} has {len(batch[i])} cells, the header {width}") from None
        bulk_insert(conn, table, {name: dec(cells[i]) for name, i, dec in plan})
        n += len(batch)
        if n % (5 * BATCH) == 0:
            progress(f"import {table.name}: {n:,} rows")
    if n != info["rows"]:
        raise TransferError(f"{fname}: {n} rows read, the manifest says {info['rows']}")
    if n == 0 or n % (5 * BATCH):  # else the loop has just said it
        progress(f"import {table.name}: {n:,} rows")
    return n


def _set_sequences(conn: Connection) -> None:
    """PostgreSQL: every serial id's sequence continues after the largest id loaded."""
    for table in models_metadata().sorted_tables:
        if "id" not in table.c or not table.c.id.primary_key or not sa.inspect(conn).has_table(table.name):
            continue
        seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.name}).scalar()
        if seq:
            conn.execute(sa.text(f'SELECT setval(:s, COALESCE((SELECT MAX(id) FROM "{table.name}"), 1), '
                                 f'(SELECT MAX(id) IS NOT NULL FROM "{table.name}"))'), {"s": seq})


def restore(engine: Engine, path: str | Path, progress: Progress | None = None) -> dict[str, int]:
    """Load the export `path` into the empty database of `engine`; return {table: rows loaded}.

    Refuses (TransferError, nothing written) a damaged zip, a manifest or checksum mismatch, an
    unknown (newer) schema revision, or a target holding any row. All tables are loaded in one
    transaction: on any failure every table stays empty."""
    from lib.db import upgrade, write

    progress = progress or (lambda msg: None)
    t0 = time.perf_counter()
    manifest = verify(path)
    progress(f"checked {len(manifest['files'])} files against the manifest")
    busy = non_empty_table(engine)
    if busy:
        raise TransferError(f"the target database is not empty (table {busy} has rows): import only into an "
                            "empty database")
    _to_revision(engine, manifest.get("schema_revision"))
    order = {t.name: i for i, t in enumerate(models_metadata().sorted_tables)}
    files = sorted(manifest["files"].items(), key=lambda kv: order[kv[1]["table"]])
    counts = {}
    fname = ""
    try:
        with zipfile.ZipFile(path) as zf, write(engine) as conn:
            if conn.dialect.name == "sqlite":  # a self-referencing table (org_unit) in any row order
                conn.exec_driver_sql("PRAGMA defer_foreign_keys=ON")
                conn.exec_driver_sql(f"PRAGMA cache_size=-{256 * 1024}")  # 256 MB: index pages stay in memory
            for fname, info in files:
                counts[info["table"]] = _load_table(conn, zf, fname, info, progress)
            fname = ""
            if conn.dialect.name == "postgresql":
                _set_sequences(conn)
    except TransferError:
        raise
    except (sa.exc.SQLAlchemyError, engine.dialect.loaded_dbapi.Error, ValueError, KeyError, csv.Error) as exc:
        # rolled back: every table empty
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
        raise TransferError(f"{fname or 'commit'}: {type(exc).__name__}: {detail}; nothing was loaded") from exc
    upgrade(engine)
    progress(f"import done in {time.perf_counter() - t0:.1f} s: {sum(counts.values()):,} rows")
    return counts


# --- command line -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    from lib.config import database_url
    from lib.db import make_engine

    parser = argparse.ArgumentParser(prog="python -m lib.transfer", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    ex = sub.add_parser("export", help="write every table to a zip")
    ex.add_argument("--db", default=None, help="database URL (default: DATABASE_URL / the configured one)")
    ex.add_argument("--out", required=True, help="the zip to write")
    im = sub.add_parser("import", help="load a zip into an empty database")
    im.add_argument("--db", default=None, help="database URL (default: DATABASE_URL / the configured one)")
    im.add_argument("file", help="the zip written by export")
    args = parser.parse_args(argv)

    def say(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    engine = make_engine(args.db or database_url())
    try:
        if args.cmd == "export":
            manifest = export(engine, args.out, say)
            rows = sum(f["rows"] for f in manifest["files"].values())
            say(f"wrote {args.out}: {len(manifest['files'])} tables, {rows:,} rows")
        else:
            restore(engine, args.file, say)
    except TransferError as exc:
        say(f"error: {exc}")
        return 2
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
