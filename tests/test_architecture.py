"""The one-way data flow, checked: no module imports a later stage, and there are no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import optimizer
from optimizer.families import FAMILIES, FILTERS, TRAITS

PKG = Path(optimizer.__file__).parent


def _imports(path: Path) -> set[str]:
    """Modules of the package that `path` imports (at any depth, lazy imports included)."""
    mod = ".".join(path.relative_to(PKG.parent).with_suffix("").parts)
    if mod.endswith(".__init__"):
        mod = mod.removesuffix(".__init__")
    pkg = mod if path.name == "__init__.py" else mod.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            if name.startswith("optimizer"):
                out.add(name)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("optimizer")}
    return out


def _graph() -> dict[str, set[str]]:
    g = {}
    for path in PKG.rglob("*.py"):
        mod = ".".join(path.relative_to(PKG.parent).with_suffix("").parts).removesuffix(".__init__")
        g[mod] = _imports(path)
    return g


def test_explain_and_render_keep_their_place():
    g = _graph()
    for mod, deps in g.items():
        if mod.startswith("optimizer.explain"):
            assert not any(d.startswith(("optimizer.render", "optimizer.planner")) for d in deps), (mod, deps)
        if mod.startswith("optimizer.render"):
            assert not any(d.startswith(("optimizer.model", "optimizer.pipeline", "optimizer.planner",
                                         "optimizer.candidates")) for d in deps), (mod, deps)
        if not mod.startswith("optimizer.model"):
            assert "pulp" not in (PKG.parent / (mod.replace(".", "/") + ".py")).read_text() if (
                PKG.parent / (mod.replace(".", "/") + ".py")).exists() else True


def test_no_import_cycles_between_modules():
    g = _graph()

    def resolve(name):  # `from .x import y` may name a module or a package
        return name if name in g else None

    seen, stack = set(), []

    def visit(m):
        if m in stack:
            cycle = stack[stack.index(m):] + [m]
            raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
        if m in seen:
            return
        stack.append(m)
        for d in g.get(m, ()):
            r = resolve(d)
            if r and r != m and not (m.startswith(r + ".") and r.endswith(m.split(".")[1])):
                if r == "optimizer" or m == "optimizer":
                    continue  # the package's __init__ only re-exports
                visit(r)
        stack.pop()
        seen.add(m)

    for m in sorted(g):
        visit(m)


def test_every_filter_counted_by_the_candidates_is_described():
    src = (PKG / "candidates.py").read_text()
    used = {node.slice.value for node in ast.walk(ast.parse(src))
            if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
            and isinstance(node.value, ast.Subscript) and getattr(node.value.value, "id", "") == "excluded"}
    assert used and used <= set(FILTERS), used - set(FILTERS)


def test_every_family_registered_by_the_formulation_is_described():
    src = (PKG / "model" / "formulation.py").read_text() + "\n" + (PKG / "model" / "techniques.py").read_text()
    used = {node.args[0].value for node in ast.walk(ast.parse(src))
            if isinstance(node, ast.Call) and getattr(node.func, "attr", "") in ("reg", "slack")
            and node.args and isinstance(node.args[0], ast.Constant)}
    assert used and used <= set(FAMILIES), used - set(FAMILIES)
    for f in FAMILIES.values():
        assert set(f.pool_traits) <= set(TRAITS), f.name
