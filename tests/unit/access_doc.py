"""Generates the tables of docs/access.md from qinyuan.access (PAGES, ACTIONS) and the services
that check each action. Regenerate with: .venv/bin/python -m tests.unit.access_doc"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from qinyuan import access

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "access.md"
START, END = "<!-- generated:start -->", "<!-- generated:end -->"
SCOPE = {"all": "✅ all", "units": "🏠 own units", "self": "👤 self", "own": "🚪 own household", None: "—"}
ACTORS = (*access.ROLES, access.HOUSEHOLD)  # a household at its door has actions but no staff page


def enforced_in() -> dict[str, list[str]]:
    """action -> service functions (qinyuan/*.py, not ui/) whose body names it."""
    found: dict[str, set[str]] = {}
    for file in sorted((ROOT / "qinyuan").glob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"))
        for node in tree.body:  # module-level functions; the write closures inside them count for them
            if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
                for inner in ast.walk(node):
                    if isinstance(inner, ast.Constant) and inner.value in access.ACTIONS:
                        found.setdefault(inner.value, set()).add(f"{file.stem}.{node.name}")
    return {k: sorted(v) for k, v in found.items()}


def render() -> str:
    lines = ["### Pages", "", "| page | URL | " + " | ".join(access.ROLES) + " |", "|---|---|" + "---|" * len(access.ROLES)]
    for page, roles in access.PAGES.items():
        url = "/" if page == "overview" else f"/{page}"
        lines.append(f"| {page} | `{url}` | " + " | ".join("✅" if r in roles else "—" for r in access.ROLES) + " |")
    where = enforced_in()
    lines += ["", "### Actions", "", "| action | " + " | ".join(ACTORS) + " | checked in |", "|---|" + "---|" * (len(ACTORS) + 1)]
    for action, scopes in access.ACTIONS.items():
        cells = " | ".join(SCOPE[scopes.get(r)] for r in ACTORS)
        funcs = ", ".join(f"`{f}`" for f in where.get(action, [])) or "(page-level / not yet used)"
        lines.append(f"| `{action}` | {cells} | {funcs} |")
    return "\n".join(lines)


def spec_rows() -> list[str]:
    """The role/scope part of each table row (without the 'checked in' column, which follows the code)."""
    rows = [line for line in render().splitlines() if line.startswith("| `") or line.startswith("| ") and "`/" in line]
    return [row.rsplit(" | ", 1)[0] if row.startswith("| `") else row for row in rows]


def current_block() -> str:
    text = DOC.read_text(encoding="utf-8")
    match = re.search(re.escape(START) + r"\n(.*)\n" + re.escape(END), text, re.S)
    return match.group(1) if match else ""


def write() -> None:
    text = DOC.read_text(encoding="utf-8")
    block = f"{START}\n{render()}\n{END}"
    if START in text:
        text = re.sub(re.escape(START) + r".*" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        text += "\n" + block + "\n"
    DOC.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    write()
