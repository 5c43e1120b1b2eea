"""Imports 数据导入: customers, monthly consumption, station traffic, visits (CSV / Excel) and grids (GeoJSON).

`import_file(engine, kind, data, filename, dry_run=False, scope=None)` reads the bytes, checks every
row and either writes all of them in one transaction or nothing (全部成功或全部不导入). A row naming a
stored record changes only the columns the file has (a blank cell keeps the stored value, a dash
clears it: `merge`); every write is recorded per row under an import batch that an admin can revert
(`revert`). It never raises for a bad file: the report says what is wrong, with the row (as the
spreadsheet numbers it: the header is row 1), the column and the error code (catalog err.<code>,
lib.validation).

The package by step: `specs` (columns per kind, limits), `read` (CSV, Excel, GeoJSON as text cells),
`check` (row checks; customer fields through the customer spec the form uses too), `write` (the
writes per kind and the summaries refreshed with them), `grids` (GeoJSON grids and the partition
check), `templates` (downloadable templates), `people` (managers, users with one-time passwords,
development and four-rate targets, surveys: their checks and writes), `merge` (only the columns a
file has), `revert` (import batches, per-row before/after, revert).
"""
from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import Connection, Engine

from lib import db
from lib.auth import SessionUser, audit, can
from lib.importer import devcases, merge, people, revert, worker
from lib.importer.check import Context, check_frame, known_customers, load_context
from lib.importer.grids import import_grids, parse_grids
from lib.importer.read import FileError, decode, looks_binary, map_columns, read_table
from lib.importer.specs import COLUMNS, KINDS, PASSING, RATE_PAIRS, columns, limits
from lib.importer.templates import EXAMPLES, template
from lib.importer.write import Progress, write_rows
from lib.validation import CODES, MAX_ERRORS, Checker, Issue
from lib.vocab import VISIT_MODES

__all__ = ["CODES", "COLUMNS", "EXAMPLES", "KINDS", "MAX_ERRORS", "PASSING", "RATE_PAIRS", "VISIT_MODES",
           "Checker", "Context", "FileError", "ImportReport", "Issue", "Progress", "check_frame", "decode",
           "columns", "import_file", "limits", "load_context", "map_columns", "read_table", "template"]

log = logging.getLogger(__name__)


@dataclass
class ImportReport:
    """Outcome of an import: `ok` (nothing wrong; written unless dry_run), counts and issues."""

    kind: str
    filename: str
    dry_run: bool = False
    ok: bool = False
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    errors: list[Issue] = field(default_factory=list)
    error_count: int = 0
    warnings: list[Issue] = field(default_factory=list)
    seconds: float = 0.0
    preview: pd.DataFrame | None = None
    secrets: pd.DataFrame | None = None  # users: the one-time passwords 初始密码, to be shown once (never stored)
    batch_id: int | None = None  # the import batch 导入批次 its rows were recorded under (lib.importer.revert)

    def errors_frame(self) -> pd.DataFrame:
        """The errors as a table: row, column, code, message (English)."""
        return pd.DataFrame([{"row": e.row, "column": e.column, "code": e.code, "message": e.message}
                             for e in self.errors], columns=["row", "column", "code", "message"])

    def fail(self, errors: list[Issue], count: int | None = None) -> None:
        self.errors, self.error_count = errors, len(errors) if count is None else count


class _Rollback(Exception):
    pass


@contextmanager
def _big_cache(conn: Connection):
    """SQLite: a 128 MB page cache while the bulk write updates the indexes (as lib.demo does)."""
    sqlite = conn.dialect.name == "sqlite"
    if sqlite:
        conn.exec_driver_sql("PRAGMA cache_size=-131072")
    try:
        yield conn
    finally:
        if sqlite:
            conn.exec_driver_sql("PRAGMA cache_size=-2000")


def _refuse_early(kind: str, data: bytes, lim: dict) -> None:
    """FileError for what is wrong before reading: an unknown kind, a file too large or empty."""
    if kind not in KINDS:
        raise FileError("unknown_kind", kind=kind)
    if len(data) > lim["max_bytes"]:
        raise FileError("too_large", size_mb=f"{len(data) / 1048576:.1f}", limit_mb=f"{lim['max_bytes'] / 1048576:.0f}")
    if not data or not data.strip(b"\xef\xbb\xbf \t\r\n"):
        raise FileError("empty")


def _audit(conn: Connection, report: ImportReport, actor: str, scope: str) -> None:
    audit(conn, actor, "import", report.kind, report.filename[:50], None,
          {"rows": report.rows, "inserted": report.inserted, "updated": report.updated,
           **({"batch": report.batch_id} if report.batch_id else {})}, org_path=scope)


def _import_grids(engine: Engine, report: ImportReport, data: bytes, scope: str, actor: str, dry_run: bool) -> None:
    if looks_binary(data):
        raise FileError("binary")
    parsed = worker.run(parse_grids, data)  # parsed and vertices counted before the write lock
    if parsed.problems:  # bad geometries or too many vertices: refused without waiting for the lock
        report.rows = len(parsed.geoms)
        report.fail(parsed.issues()[:MAX_ERRORS], len(parsed.problems))
        raise _Rollback
    with db.write(engine) as conn:
        snap = revert.snapshot(conn, "grids", None)
        report.rows, errors, count, report.inserted, report.updated = import_grids(conn, parsed, scope)
        if errors:
            report.fail(errors, count)
            raise _Rollback
        report.batch_id = revert.record(conn, snap, report, actor, scope)
        _audit(conn, report, actor, scope)
        if dry_run:
            raise _Rollback


def _check_size(df: pd.DataFrame, lim: dict) -> None:
    if not len(df):
        raise FileError("no_rows", row=2)
    if len(df) > lim["max_rows"]:
        raise FileError("too_many_rows", rows=len(df), limit=lim["max_rows"])


def _file_issues(df: pd.DataFrame, ck: Checker) -> list[Issue]:
    """The checker's issues in file order, each naming the column as the file's header wrote it."""
    headers = df.attrs.get("headers", {})
    return sorted((Issue(e.row, headers.get(e.column, e.column), e.code, e.params) for e in ck.errors),
                  key=lambda e: (e.row, e.column))


def _write_recorded(conn: Connection, report: ImportReport, out: pd.DataFrame, ctx: Context, actor: str, scope: str,
                    progress: Progress) -> None:
    """Write the checked rows, audited, with the batch's per-row before/after (lib.importer.revert)."""
    snap = revert.snapshot(conn, report.kind, out)
    report.inserted, report.updated = write_rows(conn, report.kind, out, ctx, actor, progress)
    report.batch_id = revert.record(conn, snap, report, actor, scope)
    _audit(conn, report, actor, scope)


def _load_known(conn: Connection, ctx: Context, kind: str, df: pd.DataFrame) -> None:
    """Customers: the stored customers of the scope, which new rows must not repeat (check.known_customers)."""
    if kind == "customers" and len(ctx.customers) < len(df):  # some rows are new customers
        ctx.known = known_customers(conn, ctx.scope)


def _import_rows(engine: Engine, report: ImportReport, df: pd.DataFrame, scope: str, actor: str, dry_run: bool,
                 progress: Progress, today: dt.date, user: SessionUser | None = None) -> None:
    kind = report.kind
    with db.write(engine) as conn, _big_cache(conn):
        codes = df["customer_code"] if "customer_code" in df else df["code"] if kind == "customers" else ()
        ctx = load_context(conn, scope, today, [str(c).upper() for c in codes], user=user)
        df = merge.fill_stored(conn, kind, df, scope)  # only the columns the file has (lib.importer.merge)
        _load_known(conn, ctx, kind, df)
        people.prepare(conn, ctx, kind, actor)
        devcases.prepare(conn, ctx, kind, actor)
        out, ck = check_frame(kind, df, ctx)
        progress(0.5, "check")
        if ck.count:
            report.fail(_file_issues(df, ck), ck.count)
            raise _Rollback
        report.preview = out.head(20)
        progress(0.6, "write")
        _write_recorded(conn, report, out, ctx, actor, scope, progress)
        if dry_run:
            raise _Rollback
        report.secrets = ctx.people.get("secrets")


def _read(kind: str, data: bytes, filename: str, max_rows: int) -> pd.DataFrame:
    """The file as text cells; org units may also come as a GeoJSON FeatureCollection."""
    from lib.importer import org_units

    if kind == "org_units" and org_units.is_geojson(data, filename):
        return org_units.read_features(data)
    return read_table(data, filename, max_rows)


def import_file(engine: Engine, kind: str, data: bytes, filename: str, *, user: SessionUser, dry_run: bool = False,
                progress: Progress | None = None, today: dt.date | None = None) -> ImportReport:
    """Check and import one file of `kind` ("customers", "consumption", "traffic", "visits", "grids", and
    the people and plans kinds of lib.importer.people: "managers", "users", "targets", "rate_targets",
    "surveys"; a users import returns the new users' one-time passwords in `report.secrets`, once).

    All rows or none are written, in one transaction (lib.db.write); with `dry_run` everything is
    checked (and written, then rolled back) so the report's counts are exact. `user` (the acting
    SessionUser; lib.actors.system_user for work no person starts) needs the kind's row
    `imports.<kind>` of lib.auth.PERMISSIONS (else the report's error is not_allowed, nothing read),
    and every row's unit must lie inside `user.scope`; the audit names `user.login`.
    `progress(fraction, stage)` is called as the file is read, checked and written. Never raises
    for a bad file: see the report's `ok` and `errors`. The file is read (and grids parsed) in a worker
    process with a memory and a time limit (lib.importer.worker) before any write lock is taken; an
    internal error shows the user a reference only (`internal_ref`), the exception goes to the log.
    """
    t0 = time.perf_counter()
    report = ImportReport(kind, filename, dry_run)
    progress = progress or (lambda f, s: None)
    try:
        lim = limits()
        _refuse_early(kind, data, lim)
        if not can(user, f"imports.{kind}"):
            raise FileError("not_allowed", action=f"imports.{kind}")
        scope, actor = user.scope, user.login
        progress(0.05, "read")
        if kind == "grids":
            _import_grids(engine, report, data, scope, actor, dry_run)
        else:
            df = map_columns(worker.run(_read, kind, data, filename, lim["max_rows"]), kind)
            report.rows = len(df)
            _check_size(df, lim)
            progress(0.2, "check")
            _import_rows(engine, report, df, scope, actor, dry_run, progress, today or dt.date.today(), user)
        report.ok = True
    except _Rollback:
        report.ok, report.batch_id = not report.errors, None  # a dry run's batch was rolled back with it
        if not report.ok:
            report.inserted = report.updated = 0
    except FileError as exc:
        report.fail([exc.error])
    except Exception:  # noqa: BLE001 - a report, never a traceback, for whatever the file holds
        ref = uuid.uuid4().hex[:10]  # the user sees the reference only; the log has the exception
        log.exception("import %s of %r failed [ref %s]", kind, filename[:80], ref)
        report.fail([Issue(0, "", "internal_ref", {"ref": ref})])
        report.inserted = report.updated = 0
    report.seconds = round(time.perf_counter() - t0, 3)
    progress(1.0, "done")
    return report
