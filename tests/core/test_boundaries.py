"""The layers stay apart: the core is pure torch, ComfyUI is touched only by nodes/."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import _harness

ROOT = _harness.ROOT


def _core_modules() -> list[str]:
    names = ["brushnet_core"]
    for folder in sorted((ROOT / "brushnet_core").rglob("*.py")):
        rel = folder.relative_to(ROOT).with_suffix("")
        parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
        names.append(".".join(parts))
    return sorted(set(names))


def test_core_imports_without_comfyui_in_a_fresh_interpreter() -> None:
    """Every brushnet_core module imports with ComfyUI's modules made unimportable."""
    script = (
        "import importlib, sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in ('comfy', 'comfy_api', 'comfy_execution', 'folder_paths', 'nodes',\n"
        "                                  'server', 'execution', 'node_helpers'):\n"
        "            raise ImportError('the core imported ComfyUI: ' + name)\n"
        "sys.meta_path.insert(0, Block())\n"
        f"sys.path.insert(0, {str(ROOT)!r})\n"
        f"for name in {_core_modules()!r}:\n"
        "    importlib.import_module(name)\n"
        "print('ok', len(sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          cwd=str(Path(ROOT).parent))
    assert done.returncode == 0 and done.stdout.startswith("ok"), done.stderr[-2000:]
