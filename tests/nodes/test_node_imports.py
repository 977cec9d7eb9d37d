"""nodes/ is layered: node modules import the glue package, compat and the core, never each other."""
from __future__ import annotations

import ast
from pathlib import Path

NODES_DIR = Path(__file__).resolve().parents[2] / "nodes"
#: what a node module may import from its own package
SHARED = {"glue", "compat"}


def node_modules() -> list[Path]:
    return sorted(p for p in NODES_DIR.glob("*.py") if p.name not in ("__init__.py", "compat.py"))


def sibling_imports(path: Path) -> list[str]:
    """Imports of ``path`` that reach another node module (relative, or by the package's name)."""
    siblings = {p.stem for p in node_modules()}
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            parts = (node.module or "").split(".")
            names = [parts[0]] if node.module else [alias.name for alias in node.names]
            found += [f"line {node.lineno}: from .{node.module or ''} import ..." for name in names
                      if name in siblings and name not in SHARED]
        elif isinstance(node, (ast.Import, ast.ImportFrom)) and not getattr(node, "level", 0):
            modules = [node.module] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            found += [f"line {node.lineno}: import {m}" for m in modules
                      if m and m.split(".")[0] == "nodes" and len(m.split(".")) > 1 and m.split(".")[1] in siblings]
    return found


def test_there_are_node_modules_to_check() -> None:
    assert len(node_modules()) >= 8 and (NODES_DIR / "glue").is_dir()


def test_no_node_module_imports_another() -> None:
    problems = {p.name: sibling_imports(p) for p in node_modules()}
    problems = {k: v for k, v in problems.items() if v}
    assert not problems, f"node modules import each other (share it through nodes/glue instead): {problems}"


def test_the_glue_imports_no_node_module() -> None:
    siblings = {p.stem for p in node_modules()}
    problems = []
    for path in sorted((NODES_DIR / "glue").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 2:
                names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
                problems += [f"{path.name}:{node.lineno}" for n in names if n in siblings]
    assert not problems, f"the glue imports node modules: {problems}"


def test_the_check_sees_a_sibling_import(tmp_path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from .apply import BrushNet\nfrom . import loader\nfrom .glue.inpaint import x\n"
                     "from . import compat\nfrom ..brushnet_core.branch import model\n")
    assert sibling_imports(probe) == ["line 1: from .apply import ...", "line 2: from . import ..."]
