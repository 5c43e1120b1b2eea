"""Code size figures for the codebase issue: lines per module and the largest functions.

Usage: python scripts/code_stats.py [--top N] [ROOT]   (default ROOT: the repository)
Counts physical lines of every .py file under app.py, pages/ and lib/, and the length of every
function (def line to last line, nested functions counted inside their parent too).
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path


def files(root: Path) -> list[Path]:
    out = [root / "app.py"] if (root / "app.py").exists() else []
    for folder in ("lib", "pages"):
        out += sorted((root / folder).rglob("*.py"))
    return out


def functions(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found.append((node.end_lineno - node.lineno + 1, node.name))
    return found


def main(argv: list[str]) -> None:
    top = 10
    if "--top" in argv:
        i = argv.index("--top")
        top = int(argv[i + 1])
        del argv[i:i + 2]
    root = Path(argv[0]) if argv else Path(__file__).resolve().parent.parent
    rows, funcs = [], []
    for f in files(root):
        n = len(f.read_text(encoding="utf-8").splitlines())
        rel = f.relative_to(root).as_posix()
        rows.append((n, rel))
        funcs += [(length, f"{rel}:{name}") for length, name in functions(f)]
    rows.sort(reverse=True)
    funcs.sort(reverse=True)
    total = sum(n for n, _ in rows)
    print(f"{len(rows)} modules, {total} lines; largest modules:")
    for n, rel in rows[:top]:
        print(f"  {n:5d}  {rel}")
    print(f"{len(funcs)} functions; largest:")
    for n, name in funcs[:top]:
        print(f"  {n:5d}  {name}")


if __name__ == "__main__":
    main(sys.argv[1:])
