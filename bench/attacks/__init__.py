"""The attack set 攻击集 of issue 14 (hardening), as a repeatable script.

    python -m bench.attacks [--db URL] [--quick] [--json OUT] [--only PATTERN]

Each attack is a small function that tries one thing a hostile or clumsy user would do, through the
product's public functions (lib.importer.import_file, lib.auth.authenticate, lib.customers.update, …),
and returns whether the product *held* or *failed*, with a one-line reason. The attacks are grouped by
the issue's classes: 1 data loss by import, 2 exhaustion, 3 values read wrong, 4 rights, 5 markdown
injection, 6 sessions and logins, 7 the demo's exposure, and 0 the things that held in the first
campaign (XSRF, static paths, reads by foreign id, killed imports all-or-nothing).

Every attack runs on its own copy of the attack database (a small demo province built once per run:
a temporary SQLite file, or a PostgreSQL database copied from a template when `--db` is a PostgreSQL
URL). Import attacks that may exhaust the machine run in a child process with a memory limit
(RLIMIT_AS) and a wall-clock limit; one that exceeds them is "failed (exhausted)"; peak RSS and
seconds are measured for each. The script adapts to signatures that change with the fixes (an
`actor` that becomes a SessionUser, `import_file(..., user=...)`): it inspects them, so the same
set runs before and after.

Modules: `core` (registry, results, database copies, child processes, fixtures), `imports` (classes
1–3), `rights` (class 4), `web` (classes 5–7 and the held ones).
"""
from __future__ import annotations

from bench.attacks.core import CLASSES, Attack, Env, Result, attack, registry, run

__all__ = ["CLASSES", "Attack", "Env", "Result", "attack", "registry", "run"]
