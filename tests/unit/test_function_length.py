"""No function of the app runs to 60 lines: a long function is split into named steps (issue 18, item 6).

Counted from the `def` line to the last line of the body. The demo data generator is exempt (by the issue);
nothing else is."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 60
EXEMPT = {"qinyuan/demo.py"}  # the demo data generator, exempt by the issue


def _sources() -> list[Path]:
    files = [*(ROOT / "qinyuan").rglob("*.py"), *(ROOT / "pages").glob("*.py"), ROOT / "app.py", ROOT / "serve.py"]
    return sorted(f for f in files if f.relative_to(ROOT).as_posix() not in EXEMPT)


def long_functions(paths: list[Path], limit: int = LIMIT) -> list[tuple[int, str]]:
    """(lines, "path:line name") of every function of `limit` lines or more, longest first."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines >= limit:
                    found.append(
                        (
                            lines,
                            f"{path.relative_to(path.anchor if not path.is_relative_to(ROOT) else ROOT)}:{node.lineno} {node.name}",
                        )
                    )
    return sorted(found, reverse=True)


def test_no_function_reaches_sixty_lines():
    too_long = long_functions(_sources())
    assert not too_long, "split into named steps:\n" + "\n".join(f"{n:4d} {where}" for n, where in too_long)


def test_the_checker_counts_from_def_to_the_last_line_of_the_body(tmp_path):
    """A checker that cannot fail is a defect: a 60-line function is reported, a 59-line one is not."""
    lines = [f"    x{i} = {i}" for i in range(59)]
    (tmp_path / "m.py").write_text(
        "def long():\n" + "\n".join(lines) + "\n\n\nasync def short():\n" + "\n".join(lines[1:]) + "\n"
    )
    assert [where.rsplit(" ", 1)[1] for _, where in long_functions([tmp_path / "m.py"])] == ["long"]


def test_every_exempt_file_exists():
    assert all((ROOT / name).exists() for name in EXEMPT)
