"""`python -m bench.attacks.table BEFORE.json [AFTER.json]`: the tried / held / failed table per class
(markdown), before and after the fixes side by side, and the attacks whose outcome changed."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.attacks.core import CLASSES


def _cell(s: dict | None) -> str:
    if not s:
        return "—"
    err = f", {s['error']} broke" if s.get("error") else ""
    return f"{s['tried']} / {s['held']} / {s['failed']}{err}"


def table(before: dict, after: dict | None = None) -> str:
    """Markdown: one row per class, tried / held / failed (and attacks that broke) per run."""
    head = "| class | before: tried / held / failed |" + (" after: tried / held / failed |" if after else "")
    lines = [head, "|---|---:|" + ("---:|" if after else "")]
    for key in [*CLASSES, "total"]:
        name = "**total**" if key == "total" else f"{key} {CLASSES[key]}"
        row = f"| {name} | {_cell(before['summary'].get(key))} |"
        if after:
            row += f" {_cell(after['summary'].get(key))} |"
        lines.append(row)
    return "\n".join(lines)


def changed(before: dict, after: dict) -> list[str]:
    """The attacks whose outcome differs between the two runs: id, before → after, the new reason."""
    old = {r["id"]: r for r in before["results"]}
    return [f"- {r['id']}: {old[r['id']]['outcome']} → {r['outcome']} ({r['reason']})"
            for r in after["results"] if r["id"] in old and old[r["id"]]["outcome"] != r["outcome"]]


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    runs = [json.loads(Path(p).read_text()) for p in args[:2]]
    print(table(*runs))
    if len(runs) == 2:
        print("\n" + "\n".join(changed(*runs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
