"""The benchmark runs in quick mode in CI, so it never rots; its JSON has the documented shape."""
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_quick_bench_runs_and_reports(tmp_path):
    out = tmp_path / "bench.json"
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    db = os.environ.get("TEST_DATABASE_URL")
    args = [sys.executable, "-m", "bench", "--quick", "--json", str(out)]
    args += ["--db", f"sqlite:///{tmp_path / 'bench.db'}"] if not db else []
    if db:  # a database of its own on the PostgreSQL server
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        admin = create_engine(db, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text('DROP DATABASE IF EXISTS "bench_quick" WITH (FORCE)'))
            conn.execute(text('CREATE DATABASE "bench_quick"'))
        args += ["--db", make_url(db).set(database="bench_quick").render_as_string(hide_password=False)]
    subprocess.run(args, cwd=ROOT, env=env, check=True, capture_output=True, timeout=900)
    result = json.loads(out.read_text())
    assert result["scale"]["customers"] == 3000 and result["scale"]["monthly_rows"] > 0
    assert {p["page"] for p in result["pages"]} >= {"pages/overview.py"}
    assert [p for p in result["pages"] if p.get("error")] == []
    for p in result["pages"] + [result["naive"]]:
        assert p["cold_s"] > 0 and p["warm_s"] > 0
    assert set(result) >= {"scale", "pages", "naive", "map", "import"}
    assert "map_payload_mb" in result["naive"] and "payload_mb" in result["map"]
    assert set(result["import"]) >= {"rows", "rows_per_s"}


def test_naive_map_size_measured_in_parts_equals_the_whole(engine):
    """At 1,000,000 customers the naive map is measured chunk by chunk (bench/map_payload.py); on
    the fixture the parts add up to the whole map's size within 1 %."""
    from bench.map_payload import component_bytes, naive_bytes_chunked, naive_map
    from lib.queries import default_scope_and_month

    scope, month = default_scope_and_month(engine)
    whole = component_bytes(naive_map(engine, scope, month))
    parts = naive_bytes_chunked(engine, scope, month, chunk=500)
    assert whole > 500_000
    assert abs(whole - parts) / whole < 0.01
