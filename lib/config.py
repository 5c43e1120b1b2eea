"""Configuration (配置): the rule book's numbers and the database location.

The rule book's thresholds and coefficients live in `config/rules.toml` (documented defaults);
`RULES_CONFIG` points at another copy. The database comes from `DATABASE_URL`, else the
embedded SQLite file `data/gridcrm.db`.
"""
from __future__ import annotations

import os
import tomllib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RULES = ROOT / "config" / "rules.toml"
DEFAULT_SQLITE = ROOT / "data" / "gridcrm.db"


@lru_cache(maxsize=4)
def _load(path: str) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def rules() -> dict:
    """Return the rule-book parameters as a nested dict (read once per file path)."""
    return _load(os.environ.get("RULES_CONFIG", str(DEFAULT_RULES)))


def database_url() -> str:
    """Return the SQLAlchemy URL: `DATABASE_URL` when set, else the embedded SQLite file."""
    url = os.environ.get("DATABASE_URL", "").strip()
    return url or f"sqlite:///{DEFAULT_SQLITE}"
