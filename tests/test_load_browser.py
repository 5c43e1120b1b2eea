"""The load test in quick mode: 10 real Chromium sessions at once, each logging in and going
through three main pages, against a fresh server on the fixture database (bench/load_test.py)."""
from __future__ import annotations

import json
import math
from pathlib import Path

from browser_harness import BROWSER_MARKS

from bench import load_test

pytestmark = BROWSER_MARKS


def test_ten_sessions_at_once_through_the_main_pages(fixture_url, tmp_path):
    out = tmp_path / "load.json"
    result = load_test.main(["--db", fixture_url, "--quick", "--sessions", "10", "--page-timeout", "120",
                             "--json", str(out)])
    assert json.loads(out.read_text())["all"] == result["all"]
    assert result["sessions"] == 10 and result["rounds"] == 1
    assert result["errors"] == 0, result["error_details"]
    assert result["outside_requests"] == 0, result["outside_urls"]
    names = [Path(p).stem for p in load_test.QUICK_PAGES]
    assert [p["page"] for p in result["pages"]] == names
    assert len(result["per_session"]) == 10
    for session in result["per_session"]:
        assert session["visited"] == {n: 1 for n in names}, session
    assert {p["n"] for p in result["pages"]} == {10}
    assert result["all"]["n"] == 10 * len(names)
    p95 = result["all"]["p95_s"]
    assert p95 > 0 and math.isfinite(p95)
    assert all(p["p95_s"] > 0 and math.isfinite(p["p95_s"]) for p in result["pages"])
    rss = result["server_rss_mb"]
    assert rss["peak"] > rss["start"] > 0
    assert result["scale"]["customers"] > 0
