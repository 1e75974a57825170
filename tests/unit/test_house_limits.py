"""The house rules of issue 10, measured so that they keep holding.

No package module over 400 lines, no function over 80 lines, none with more than 8
parameters (options go in a frozen dataclass); scripts are shims of at most 30 lines;
``common.smk`` is glue. Numba kernels may take more parameters (grouping them would cost
speed): they are listed by name below.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "workflow" / "tmesig"
CHECKED = sorted(
    [
        *PACKAGE.rglob("*.py"),
        *(REPO / "benchmarks").glob("*.py"),
        *(REPO / "resources").rglob("*.py"),
    ]
)
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 80
MAX_PARAMETERS = 8
#: Numba-compiled kernels: their arguments are arrays passed without a wrapper object.
KERNELS_WITH_MORE_PARAMETERS: set[str] = set()


def _functions(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _n_params(fn: ast.FunctionDef) -> int:
    a = fn.args
    names = [x.arg for x in (*a.posonlyargs, *a.args, *a.kwonlyargs)]
    return len([n for n in names if n not in ("self", "cls")])


@pytest.mark.parametrize("path", [p for p in CHECKED if p.is_relative_to(PACKAGE)], ids=str)
def test_module_length(path):
    n = len(path.read_text().splitlines())
    assert n <= MAX_MODULE_LINES, f"{path.relative_to(REPO)} has {n} lines: split it by concept"


def test_function_length_and_parameters():
    problems = []
    for path in CHECKED:
        for fn in _functions(path):
            where = f"{path.relative_to(REPO)}:{fn.lineno} {fn.name}"
            length = fn.end_lineno - fn.lineno + 1
            if length > MAX_FUNCTION_LINES:
                problems.append(f"{where}: {length} lines")
            if _n_params(fn) > MAX_PARAMETERS and fn.name not in KERNELS_WITH_MORE_PARAMETERS:
                problems.append(f"{where}: {_n_params(fn)} parameters")
    assert not problems, "\n".join(problems)


def test_scripts_are_shims():
    for script in sorted((REPO / "workflow" / "scripts").glob("*.py")):
        n = len(script.read_text().splitlines())
        assert n <= 30, f"{script.relative_to(REPO)} has {n} lines: move the logic into the package"


def test_common_smk_is_glue():
    n = len((REPO / "workflow" / "rules" / "common.smk").read_text().splitlines())
    assert n <= 80, f"workflow/rules/common.smk has {n} lines: move logic into tmesig.sheet / paths"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_edges(path: Path, modules: set[str]) -> set[str]:
    """tmesig modules that ``path`` imports anywhere in its body (relative imports resolved)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                out.add(target)
    return out


def test_no_import_cycle():
    """No cycle between plain modules (edges into a package ``__init__`` re-export are ignored)."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    plain = {m for m, p in files.items() if p.name != "__init__.py"}
    graph = {m: _import_edges(p, set(files)) & plain for m, p in files.items() if m in plain}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                cycle = stack[stack.index(n) :] + [n]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_package_imports_in_a_fresh_interpreter():
    import subprocess
    import sys

    code = "import tmesig.io, tmesig.score, tmesig.subsets, tmesig.simulate, tmesig.runner"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
