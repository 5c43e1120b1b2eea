"""Cached readers and their invalidation 缓存 (STYLE §5): query results in st.cache_data, cleared by area.

A reader is wrapped once with `cached(fn)` (st.cache_data keyed by every argument; the engine by its
URL). Each reader depends on data areas 数据范围 ("customers", "visits", ...): named with
`cached(fn, areas=...)` or, by default, taken from `READS` for the reader's module. A write names
what it changed with `invalidate(*areas)`, which clears only the readers that depend on one of those
areas (a visit recorded leaves the tiers dashboards cached). A reader whose module is not in `READS`
depends on everything, so forgetting a row costs speed, never correctness.

This is the one place that clears caches: a later cross-process data version hooks in here.
"""
from __future__ import annotations

from collections.abc import Callable

import streamlit as st
from sqlalchemy import Engine

from lib import queries

# Data areas a write can change. The audit log grows with every write, hence EVERYTHING readers.
AREAS = frozenset({
    "org",  # org units, stations 组织机构
    "customers",  # the customer archive incl. tier overrides, and its summaries 客户档案
    "consumption",  # monthly consumption and traffic counts 消费量、进站车流
    "visits",  # visit plans, records, daily logs 维护回访
    "matters",  # matters and their events 事项
    "tasks",  # win-back tasks 挽回任务
    "plans",  # development targets and surveys 开发计划、调查
    "managers",  # customer managers: levels, ratings, monthly plans 客户经理
    "grids",  # grid geometry and owners 网格
    "users",  # app users 用户
})
EVERYTHING = AREAS

# Which areas the readers of each lib module depend on (their SQL's tables, through summaries too).
READS: dict[str, frozenset[str]] = {
    "lib.tiers": frozenset({"org", "customers", "consumption", "managers"}),
    "lib.development": frozenset({"org", "customers", "consumption", "plans", "managers"}),
    "lib.four_rates": frozenset({"org", "customers", "consumption", "plans"}),
    "lib.tracking": frozenset({"org", "customers", "consumption", "visits", "tasks", "managers"}),
    "lib.visits": frozenset({"org", "customers", "visits", "matters", "managers", "grids"}),
    "lib.matters": frozenset({"org", "customers", "matters", "grids"}),
    "lib.managers": frozenset({"org", "customers", "consumption", "managers"}),
    "lib.customers": frozenset({"org", "customers", "consumption", "visits", "matters", "managers", "grids"}),
    "lib.maps.data": frozenset({"org", "customers", "consumption", "grids", "managers", "plans"}),
    "lib.maps.editing": frozenset({"org", "customers", "grids"}),
    "lib.maps.layers": frozenset({"org", "customers", "consumption", "grids", "managers", "plans"}),
    "lib.checklist": frozenset({"org", "customers", "consumption", "plans", "grids", "managers", "visits", "users"}),
    "lib.stations": frozenset({"org"}),
    "lib.targets": frozenset({"org", "plans"}),
    "lib.org": frozenset({"org", "grids"}),
    "lib.surveys": frozenset({"org", "customers", "plans"}),
}
# lib.queries mixes readers of several areas: named per function (the rest depend on everything).
READS_BY_FUNCTION: dict[str, frozenset[str]] = {
    "lib.queries.org_units": frozenset({"org"}),
    "lib.queries.unit_by_path": frozenset({"org"}),
    "lib.queries.months": frozenset({"org", "consumption"}),
    "lib.queries.default_scope_and_month": frozenset({"org", "consumption"}),
    "lib.queries.users": frozenset({"org", "users"}),
    "lib.queries.managers": frozenset({"org", "managers"}),
}

# What an import of each kind (lib.importer.KINDS) changes.
IMPORT_AREAS: dict[str, tuple[str, ...]] = {
    "customers": ("customers",), "consumption": ("consumption",), "traffic": ("consumption",),
    "visits": ("visits",), "grids": ("grids",),
    "stations": ("org",), "competitor_stations": ("org",), "station_sales": ("org",),
    "managers": ("managers",), "users": ("users",), "targets": ("plans",), "rate_targets": ("org",),
    "surveys": ("plans",),
    "org_units": ("org",),
    "development": ("plans", "customers"),  # a signed case makes its customer existing (lib.development)
}

_readers: dict[Callable, Callable] = {}  # fn → its st.cache_data wrapper, made once
_depends: dict[Callable, frozenset[str]] = {}  # wrapper → the areas it reads


def engine_key(engine: Engine) -> str:
    """Hash an engine by its URL (without password): one cache per database."""
    return engine.url.render_as_string(hide_password=True)


def areas_of(fn: Callable) -> frozenset[str]:
    """Return the data areas the reader `fn` depends on (READS_BY_FUNCTION, READS, else everything)."""
    name = f"{fn.__module__}.{fn.__qualname__}"
    return READS_BY_FUNCTION.get(name) or READS.get(fn.__module__, EVERYTHING)


def _check(areas) -> frozenset[str]:
    unknown = set(areas) - AREAS
    if unknown:
        raise ValueError(f"unknown data areas {sorted(unknown)}; known: {sorted(AREAS)}")
    return frozenset(areas)


def cached(fn: Callable, areas: tuple[str, ...] | frozenset[str] | None = None) -> Callable:
    """Return `fn` (a reader taking engine, scope, month, …) in st.cache_data keyed by its inputs,
    registered under the data `areas` it reads (default: `areas_of(fn)`). The wrapper is made once
    per function, so `cached(f)` anywhere is the same cache."""
    wrapper = _readers.get(fn)
    if wrapper is None:
        wrapper = st.cache_data(show_spinner=False, ttl=3600, max_entries=2000, hash_funcs={Engine: engine_key})(fn)
        _readers[fn] = wrapper
    _depends[wrapper] = _check(areas) if areas is not None else areas_of(fn)
    return wrapper


def invalidate(*areas: str) -> int:
    """Clear the cached readers that depend on any of `areas` (after a write that changed them);
    with no area, clear every cache (a new database). Returns how many readers were cleared."""
    if not areas:
        st.cache_data.clear()
        return len(_depends)
    changed = _check(areas)
    cleared = 0
    for wrapper, reads in _depends.items():
        if reads & changed:
            wrapper.clear()
            cleared += 1
    return cleared


# Readers of the frame itself (sidebar pickers, titles).
org_units = cached(queries.org_units)
months = cached(queries.months)
default_scope_and_month = cached(queries.default_scope_and_month)
