"""Import fuzzer and bomb files (issue 14): hostile and broken files fed to `lib.importer.import_file`.

The generators below build the files (random bytes, valid CSV/.xlsx mutated byte-wise or cell-wise,
huge cells, many columns, zip bombs, billion-laughs and deeply nested XML); tests/test_hardening_limits.py
runs a few of each with fixed seeds. The longer run:

    python -m bench.fuzz_imports --db sqlite:////tmp/fuzz.db --cases 500 --seed 1

builds a small demo province in that database when it has none, runs dry-run imports of every
generated case and prints counts: tried, refused with a clear message, accepted, internal errors (a
bug: the report shows a reference only), exceptions escaping import_file (a bug) and the slowest case.
"""
from __future__ import annotations

import argparse
import io
import json
import random
import sys
import time
import zipfile
import zlib

from openpyxl import Workbook

KINDS = ("customers", "consumption", "traffic", "visits", "stations", "managers", "users", "targets")


def valid_csv(kind: str = "consumption", rows: int = 20, seed: int = 0) -> bytes:
    """A plausible CSV of `kind` (its template's header and made-up rows)."""
    from lib.importer import columns

    rng = random.Random(seed)
    keys = [k for k, _, _ in columns(kind)]
    values = {"month": lambda: f"2026-{rng.randint(1, 10):02d}", "day": lambda: f"2026-10-{rng.randint(1, 28):02d}"}
    lines = [",".join(keys)]
    for _ in range(rows):
        lines.append(",".join(values.get(k, lambda: str(rng.choice([rng.randint(0, 99), "C0001", "x", ""])))()
                              for k in keys))
    return ("\r\n".join(lines) + "\r\n").encode()


def xlsx_of(rows: list[list]) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


class _Deflate:
    """A raw deflate compressor that flushes fully after every piece, so a piece written again (the same
    bytes object) compresses to the same bytes: those are reused, and a 1.6 GB member takes ~2 s."""

    def __init__(self):
        self._z = zlib.compressobj(9, zlib.DEFLATED, -15)
        self._last: tuple[bytes, bytes] | None = None

    def compress(self, data: bytes) -> bytes:
        if self._last is not None and self._last[0] is data:
            return self._last[1]
        out = self._z.compress(data) + self._z.flush(zlib.Z_FULL_FLUSH)
        self._last = (data, out)
        return out

    def flush(self) -> bytes:
        return self._z.flush()


def _sheet_zip(sheet_chunks, shared: bytes | None = None) -> bytes:
    """An .xlsx whose first sheet's XML is written from `sheet_chunks` (bytes pieces, streamed: the
    uncompressed sheet may be far larger than memory allows), the rest taken from a valid workbook."""
    base = zipfile.ZipFile(io.BytesIO(xlsx_of([["a"]])))
    out = io.BytesIO()
    plain = zipfile._get_compressor
    zipfile._get_compressor = lambda kind, level=None: _Deflate() if kind == zipfile.ZIP_DEFLATED else plain(kind, level)
    try:
        _write_members(base, out, sheet_chunks, shared)
    finally:
        zipfile._get_compressor = plain
    return out.getvalue()


def _write_members(base: zipfile.ZipFile, out, sheet_chunks, shared: bytes | None) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in base.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with zf.open(info.filename, "w", force_zip64=True) as fh:
                    for chunk in sheet_chunks:
                        fh.write(chunk)
            elif info.filename == "xl/sharedStrings.xml" and shared is not None:
                zf.writestr(info.filename, shared)
            else:
                zf.writestr(info.filename, base.read(info.filename))


_HEAD = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.'
         b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
_TAIL = b"</sheetData></worksheet>"


def huge_cell_xlsx(chars: int, letters: str = "a") -> bytes:
    """One inline-string cell of `chars` characters (a 1.6 MB zip of "a" holds ~1.6 G characters)."""
    piece = (letters * ((1 << 20) // len(letters) + 1))[: 1 << 20].encode()

    def chunks():
        yield _HEAD + b'<row r="1"><c r="A1" t="inlineStr"><is><t>'
        left = chars
        while left > 0:
            yield piece[:left]
            left -= len(piece)
        yield b"</t></is></c></row>" + _TAIL
    return _sheet_zip(chunks())


def zip_bomb_xlsx(mb: int) -> bytes:
    """A sheet of `mb` MB of identical rows (deflate packs ~1,000:1: 0.5 MB of zip → 0.5 GB of XML)."""
    row = b"<row><c><v>1</v></c></row>"
    block = row * ((1 << 20) // len(row))
    return _sheet_zip([_HEAD, *([block] * mb), _TAIL])  # one bytes object repeated: compressed once


def many_cells_xlsx(rows: int, cols: int = 5) -> bytes:
    """A plain but big sheet (distinct row numbers, so it compresses like a real one): passes the zip
    checks and costs openpyxl memory — the worker's memory limit is what stops it."""
    def chunks():
        yield _HEAD
        for start in range(1, rows + 1, 10_000):
            yield b"".join(b'<row r="%d">' % r + b"".join(b'<c t="inlineStr"><is><t>v%d_%d</t></is></c>' % (r, c)
                                                        for c in range(cols)) + b"</row>"
                           for r in range(start, min(start + 10_000, rows + 1)))
        yield _TAIL
    return _sheet_zip(chunks())


def laughs_xlsx(levels: int = 10) -> bytes:
    """Billion laughs: entities each expanding to ten of the previous one."""
    ents = ['<!ENTITY lol0 "lol">'] + [f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, levels)]
    dtd = f'<?xml version="1.0"?>\n<!DOCTYPE worksheet [{"".join(ents)}]>\n'.encode()
    body = (b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
            b'<c r="A1" t="inlineStr"><is><t>&lol%d;</t></is></c></row></sheetData></worksheet>' % (levels - 1))
    return _sheet_zip([dtd + body])


def deep_xml_xlsx(depth: int = 100_000) -> bytes:
    """Elements nested `depth` deep inside a cell."""
    return _sheet_zip([_HEAD + b'<row r="1"><c r="A1">' + b"<x>" * depth + b"</x>" * depth + b"</c></row>" + _TAIL])


def wide_csv(columns: int = 1_000_000) -> bytes:
    """A header of a million columns (8 MB with its rows: it used 4.2 GB for 98 s before the limits)."""
    return (",".join(f"c{i}" for i in range(columns)) + "\r\n" + "1," * (columns - 1) + "1\r\n").encode()


def mutate(data: bytes, rng: random.Random, flips: int = 8) -> bytes:
    """`data` with a few bytes replaced, inserted or deleted."""
    buf = bytearray(data)
    for _ in range(flips):
        i = rng.randrange(max(len(buf), 1))
        op = rng.random()
        if op < 0.5 and buf:
            buf[i % len(buf)] = rng.randrange(256)
        elif op < 0.8:
            buf[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        elif buf:
            del buf[i:i + rng.randint(1, 4)]
    return bytes(buf)


def mutate_cells(kind: str, rng: random.Random) -> bytes:
    """A valid CSV of `kind` with hostile cells: control characters, huge or odd numbers, months, commas."""
    hostile = ["1,5", "0000-01", "2026-11-99", "1900-01", "9999-12", "\x00", "a\x0bb", "1e308", "-1", "NaN",
               "x" * 5000, "=1+1", "'; DROP TABLE customer; --", "２０２６－１１", "1,50", "12,345.6", "\u202e"]
    lines = valid_csv(kind, 5, rng.randrange(10**6)).decode().split("\r\n")
    cells = [line.split(",") for line in lines if line]
    for _ in range(rng.randint(1, 4)):
        row = rng.randrange(1, len(cells))
        col = rng.randrange(len(cells[row]))
        cells[row][col] = '"' + rng.choice(hostile).replace('"', '""') + '"'
    return ("\r\n".join(",".join(r) for r in cells) + "\r\n").encode()


def cases(seed: int, n: int):
    """n fuzz cases (kind, filename, bytes) from `seed`: random bytes, mutated CSV and .xlsx, hostile cells."""
    rng = random.Random(seed)
    for i in range(n):
        kind = rng.choice(KINDS)
        pick = i % 5
        if pick == 0:
            yield kind, rng.choice(["r.csv", "r.xlsx", "r.geojson"]), bytes(rng.randrange(256)
                                                                             for _ in range(rng.randint(0, 4000)))
        elif pick == 1:
            yield kind, "m.csv", mutate(valid_csv(kind, 10, rng.randrange(10**6)), rng)
        elif pick == 2:
            rows = [r.split(",") for r in valid_csv(kind, 10, rng.randrange(10**6)).decode().splitlines()]
            yield kind, "m.xlsx", mutate(xlsx_of(rows), rng, flips=rng.randint(1, 6))
        elif pick == 3:
            yield kind, "h.csv", mutate_cells(kind, rng)
        else:
            yield "grids", "g.geojson", mutate(json.dumps({"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {"code": "G1", "name": "n", "station_code": "S1"},
                 "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}}]}).encode(), rng)


def run(engine, seed: int, n: int) -> dict:
    """Dry-run every case; counts of what happened (see the module docstring)."""
    from lib.actors import system_user
    from lib.importer import import_file

    user = system_user(engine)  # an admin of the whole organisation: every kind may be imported
    counts = {"tried": 0, "refused": 0, "accepted": 0, "internal": 0, "raised": 0, "slowest_s": 0.0}
    for kind, name, data in cases(seed, n):
        counts["tried"] += 1
        t0 = time.perf_counter()
        try:
            report = import_file(engine, kind, data, name, user=user, dry_run=True)
        except Exception as exc:  # noqa: BLE001 - counted: import_file must never raise
            counts["raised"] += 1
            print(f"RAISED {kind} {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        took = round(time.perf_counter() - t0, 3)
        if took > counts["slowest_s"]:
            counts["slowest_s"], counts["slowest_case"] = took, f"{kind} {name} ({len(data):,} bytes)"
        codes = {e.code for e in report.errors}
        key = "accepted" if report.ok else "internal" if "internal_ref" in codes else "refused"
        counts[key] += 1
    return counts


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", required=True)
    ap.add_argument("--cases", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    from sqlalchemy import inspect

    from lib import auth, demo
    from lib.db import make_engine, upgrade

    engine = make_engine(args.db)
    if "customer" not in inspect(engine).get_table_names():
        upgrade(engine)
        demo.generate(engine, seed=5, customers=600, months=3, end_month="2026-10")
        auth.create_demo_users(engine)
    print(json.dumps(run(engine, args.seed, args.cases)))


if __name__ == "__main__":
    main()
