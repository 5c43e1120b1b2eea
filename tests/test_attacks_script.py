"""The attack script (bench.attacks, issue 14) keeps working: a few of its attacks run on their own
attack database and return results with the expected keys. Whether they held or failed is the
report's job (bench/results/attacks_*.json), not this test's.
"""
from __future__ import annotations

import json
import os

import pytest

from bench.attacks import core

KEYS = {"id", "cls", "name", "outcome", "reason", "seconds", "peak_rss_mb", "exhausted"}
SAMPLE = ("1.partial_customers_wipes_phone", "2.xlsx_entity_expansion", "3.decimal_comma_tonnes",
          "4.scope.set_plan_month_13")


@pytest.fixture(autouse=True)
def _environment_restored():
    """The script points DATABASE_URL (and the demo and setup-token settings) at its own attack
    databases, as a command should; in the test process that must not outlive the test: later tests
    opened pages on a deleted database ("no such table: user_session" in a serial run)."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("attacks")
    base = core.build_base(os.environ.get("TEST_DATABASE_URL"), tmp, customers=1500)
    env = core.Env(base, tmp, quick=True, fx=core.fixtures(base))
    yield env
    if env.postgres:
        core._pg_drop(base, base)


def test_sample_attacks_return_results(env):
    attacks = [a for a in core.registry() if a.id in SAMPLE]
    assert sorted(a.id for a in attacks) == sorted(SAMPLE)
    results = core.run(env, attacks, echo=lambda s: None)
    assert [r["id"] for r in results] == [a.id for a in attacks]
    for r in results:
        assert set(r) == KEYS
        assert r["outcome"] in ("held", "failed"), r  # "error" would mean the attack itself broke
        assert r["reason"].strip()
    child = next(r for r in results if r["cls"] == "2")
    assert child["peak_rss_mb"] and child["peak_rss_mb"] > 10  # measured in the child process
    tally = core.tally(results)
    assert tally["total"]["tried"] == len(SAMPLE)
    assert tally["total"]["held"] + tally["total"]["failed"] == len(SAMPLE)


def test_catalogue_sizes():
    everything = core.registry()
    quick = core.select_attacks(quick=True)
    assert len(everything) >= 100
    assert 30 <= len(quick) <= 50
    assert {a.cls for a in quick} == set(core.CLASSES)
    assert len({a.id for a in everything}) == len(everything)


def test_child_limits_are_enforced():
    def hog():
        return len(bytearray(2 * 1024 ** 3))

    out = core.run_child(hog, mem_mb=1024, wall_s=30)
    assert out.status == "memory" and out.exhausted
    slow = core.run_child(_sleep_long, mem_mb=1024, wall_s=1.5)
    assert slow.status == "timeout" and 1.4 < slow.seconds < 10


def _sleep_long():
    import threading

    threading.Event().wait(60)


def test_actor_adapts_to_the_signature():
    from lib.auth import SessionUser

    user = SessionUser(1, "admin", "管理员", "province_admin", "/37/")

    def old(engine, actor: str, x): ...

    def new(engine, actor: SessionUser, x): ...

    assert core.actor_for(old, user) == "admin"
    assert core.actor_for(new, user) is user


def test_cli_writes_json(tmp_path):
    from bench.attacks.__main__ import main

    out = tmp_path / "a.json"
    assert main(["--only", "6.setup_token_printed_when_set", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["summary"]["total"]["tried"] == 1
    assert data["results"][0]["id"] == "6.setup_token_printed_when_set"
    assert {"backend", "seconds", "mem_limit_mb"} <= set(data["run"])
