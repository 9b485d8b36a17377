"""Every package the project imports is declared in pyproject.toml, so that the README's install
commands are enough on a fresh machine.

Imports are read from the source (also those inside functions, which an import at start-up
would miss) and each third-party name is traced to the distribution that provides it. That
distribution must be a core dependency or in the `dev` extra, the one the README's test command
installs. A package present only because something else pulled it in (SQLAlchemy through
Optuna, say) counts as undeclared: the project must not rely on another package's choices.
"""

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent
TREES = ("sweeper", "benchmarks", "scripts", "tests", "studies", "examples", ".ci")
EXTRA = "dev"  # what `pip install -e ".[dev]"` adds to the core dependencies


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    """Distributions sweeper declares: its core dependencies and the dev extra."""
    names = set()
    for req in importlib.metadata.requires("sweeper") or []:
        name = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", req).group(0)
        marker = req.split(";", 1)[1] if ";" in req else ""
        extras = re.findall(r"extra\s*==\s*['\"]([^'\"]+)['\"]", marker)
        if not extras or EXTRA in extras:
            names.add(_normal(name))
    return names


def sources() -> list[Path]:
    return sorted(p for tree in TREES for p in (ROOT / tree).rglob("*.py")
                  if "fixtures" not in p.parts or p.name != "syntax_error.py")


def local_names() -> set[str]:
    """Modules of this repository: the package and the scripts that import each other."""
    return {"sweeper"} | {p.stem for p in sources()}


def imported(path: Path) -> set[str]:
    """Top-level names of absolute imports anywhere in a file."""
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_import_is_a_declared_dependency():
    providers = importlib.metadata.packages_distributions()
    allowed, local = declared(), local_names()
    problems = []
    for path in sources():
        for name in sorted(imported(path) - local - set(sys.stdlib_module_names)):
            dists = {_normal(d) for d in providers.get(name, [])}
            where = path.relative_to(ROOT)
            if not dists:
                problems.append(f"{where} imports {name}, which is not installed here, so no "
                                "declared dependency provides it")
            elif not dists & allowed:
                problems.append(f"{where} imports {name} (from {', '.join(sorted(dists))}), "
                                f"which is neither a dependency nor in the {EXTRA!r} extra")
    assert not problems, "\n".join(problems)


def test_the_check_sees_imports_inside_functions(tmp_path):
    path = tmp_path / "lazy.py"
    path.write_text("def f():\n    import scipy.stats\n    from . import x\n"
                    "from yaml import safe_load\n")
    assert imported(path) == {"scipy", "yaml"}


def test_every_module_of_the_package_imports_first_in_a_fresh_process():
    """Each module imported first, before any other of the package, in a new interpreter:
    nothing missing, and no import cycle that only a lucky order hides."""
    modules = sorted(f"sweeper.{p.stem}" for p in (ROOT / "sweeper").glob("*.py")
                     if p.stem != "__main__")
    code = ("import importlib, sys\n"
            "for m in sys.argv[1:]:\n"
            "    for name in [n for n in sys.modules if n.split('.')[0] == 'sweeper']:\n"
            "        del sys.modules[name]\n"
            "    importlib.import_module(m)\n")
    done = subprocess.run([sys.executable, "-c", code, *modules], capture_output=True,
                          text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def _package_imports(path: Path) -> set[str]:
    """Modules of the package that a module imports, anywhere in it (lazy imports count)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module:
                names.add(node.module.split(".")[0])
            else:
                names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and \
                node.module.split(".")[0] == "sweeper" and "." in node.module:
            names.add(node.module.split(".")[1])
    return names


def test_imports_between_modules_run_one_way():
    """No module of the package reaches itself through its imports."""
    graph = {p.stem: _package_imports(p) for p in (ROOT / "sweeper").glob("*.py")}
    graph = {m: {d for d in deps if d in graph and d != m} for m, deps in graph.items()}

    def cycle_from(start: str) -> list[str] | None:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for dep in graph[node]:
                if dep == start:
                    return [*path, start]
                if dep not in path:
                    stack.append((dep, [*path, dep]))
        return None

    cycles = [c for m in sorted(graph) if (c := cycle_from(m))]
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
