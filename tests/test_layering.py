"""The package layering of docs/architecture.md holds in the source: every import (module level or not) points to the
same package or one below it, and no module imports itself through others (no import cycle)."""
import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = {"tests", ".venv", ".cache", "outputs"}


def layers() -> dict[str, int]:
    line = re.search(r"^LAYERS: (.+)$", (ROOT / "docs" / "architecture.md").read_text(), re.M).group(1)
    return {name.strip(): i for i, name in enumerate(line.split("<"))}


def modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in SKIP or any(p.startswith(".") for p in rel.parts) or rel.name == "conftest.py":
            continue
        name = ".".join(rel.with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def imports(name: str, path: Path, known: dict) -> set[str]:
    """Project modules `name` imports anywhere in its file (nearest known module for `from x import y`)."""
    is_package = path.name == "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".")[: len(name.split(".")) - (0 if is_package else 1)]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" for a in node.names] + [base]
        for t in targets:
            while t and t not in known and "." in t:
                t = t.rsplit(".", 1)[0]
            if t in known and t != name:
                out.add(t)
    return out


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(name, path, known) for name, path in known.items()}


def test_the_documented_layers_name_every_package():
    order = layers()
    tops = {name.split(".")[0] for name in modules()}
    assert tops <= set(order), f"packages missing from docs/architecture.md LAYERS: {tops - set(order)}"


def test_no_upward_import():
    order = layers()
    bad = [f"{a} -> {b}" for a, targets in graph().items() for b in targets
           if order[b.split(".")[0]] > order[a.split(".")[0]]]
    assert not bad, "imports against the layering of docs/architecture.md:\n" + "\n".join(sorted(bad))


def test_no_import_cycle():
    g = graph()
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):  # Tarjan's strongly connected components
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in g[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in g:
        if v not in index:
            visit(v)
    assert not cycles, "import cycles: " + "; ".join(" <-> ".join(c) for c in cycles)


def test_core_imports_no_other_package():
    assert all(b.split(".")[0] == "core" for a, targets in graph().items() if a.split(".")[0] == "core"
               for b in targets)
