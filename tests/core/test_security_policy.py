"""The lines of docs/security.md that the source itself proves (read with ``ast``, nothing executed).

Every ``torch.load`` passes ``weights_only=True``; every ``from_pretrained`` passes
``local_files_only=True`` and never ``trust_remote_code``; no pickle/marshal/dill, ``eval`` or
``exec``; only the OpenAI-compatible planner backend imports networking modules; the environment
variables the pack reads are exactly the ones the page lists; importing the whole pack the way
ComfyUI does opens no socket.
"""
from __future__ import annotations

import ast
import re
import subprocess
import sys

import _harness

ROOT = _harness.ROOT
SOURCES = sorted([ROOT / "__init__.py", *(ROOT / "nodes").rglob("*.py"), *(ROOT / "brushnet_core").rglob("*.py")])
DOC = ROOT / "docs" / "security.md"
NETWORK_MODULES = {"socket", "http", "urllib", "requests", "aiohttp", "httpx", "websocket", "websockets", "ftplib",
                   "smtplib"}
#: the only module allowed to talk to the network (the OpenAI-compatible planner backend)
NETWORK_OWNER = "brushnet_core/planner/http_backend.py"


def _trees():
    for path in SOURCES:
        yield path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _calls(tree, name: str):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called == name:
                yield node


def _kw(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _is_true(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def test_every_torch_load_is_weights_only():
    found = 0
    for rel, tree in _trees():
        for call in _calls(tree, "load"):
            func = call.func
            if isinstance(func, ast.Attribute) and getattr(func.value, "id", "") == "torch":
                found += 1
                assert _is_true(_kw(call, "weights_only")), f"{rel}:{call.lineno} torch.load without weights_only=True"
    assert found >= 2  # the scan sees the pack's loaders


def test_torchscript_is_loaded_only_by_the_prefill_loader():
    for rel, tree in _trees():
        for call in _calls(tree, "load"):
            func = call.func
            if isinstance(func, ast.Attribute) and getattr(func.value, "attr", "") == "jit":
                assert rel == "brushnet_core/image/inpaint_models.py", f"{rel}:{call.lineno} torch.jit.load"


def test_every_from_pretrained_is_local_and_runs_no_remote_code():
    found = 0
    for rel, tree in _trees():
        for call in _calls(tree, "from_pretrained"):
            found += 1
            assert _is_true(_kw(call, "local_files_only")), f"{rel}:{call.lineno} from_pretrained may download"
            assert _kw(call, "trust_remote_code") is None, f"{rel}:{call.lineno} trust_remote_code"
    assert found >= 4


def test_no_pickle_eval_or_exec():
    for rel, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not {n.split(".")[0] for n in names} & {"pickle", "marshal", "dill", "cloudpickle", "shelve"}, rel
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("eval", "exec", "compile"):
                raise AssertionError(f"{rel}:{node.lineno} calls {node.func.id}")


def test_only_the_http_planner_imports_network_modules():
    for rel, tree in _trees():
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                mods = {(node.module or "").split(".")[0]}
            else:
                continue
            if mods & NETWORK_MODULES:
                assert rel == NETWORK_OWNER, f"{rel}:{node.lineno} imports {sorted(mods & NETWORK_MODULES)}"


def _env_reads() -> dict[str, set[str]]:
    """Literal names read with os.environ.get / os.getenv / os.environ[...], per file."""
    reads: dict[str, set[str]] = {}
    for rel, tree in _trees():
        for node in ast.walk(tree):
            name = None
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                f = node.func
                if isinstance(f, ast.Attribute) and f.attr == "get" and getattr(f.value, "attr", "") == "environ":
                    name = node.args[0].value
                elif isinstance(f, ast.Attribute) and f.attr == "getenv":
                    name = node.args[0].value
            elif isinstance(node, ast.Subscript) and getattr(node.value, "attr", "") == "environ" \
                    and isinstance(node.slice, ast.Constant):
                name = node.slice.value
            if name:
                reads.setdefault(rel, set()).add(name)
    return reads


def test_environment_variables_read_are_the_documented_ones():
    text = DOC.read_text(encoding="utf-8")
    literal = set().union(*_env_reads().values())
    from brushnet_core.text_mask import lru

    documented = set(re.findall(r"`(BRUSHEDIT_[A-Z_]+)`", text))
    assert literal | {lru.CACHE_MB_ENV} == documented, (literal, documented)
    # the variable holding the planner's key is read by name from the node's api_key_env widget (http_backend),
    # and redact.py reads the values of secret-looking names only to mask them
    assert "api_key_env" in text and "KEY, TOKEN, SECRET or PASSWORD" in text


def test_importing_the_pack_like_comfyui_opens_no_socket():
    code = (
        "import socket, sys, asyncio\n"
        "def deny(*a, **k): raise AssertionError('network at import')\n"
        "socket.socket.connect = deny; socket.socket.connect_ex = deny; socket.create_connection = deny\n"
        "socket.getaddrinfo = deny\n"
        f"sys.path.insert(0, {str(_harness.COMFY_DIR)!r})\n"
        "from comfy.cli_args import args; args.cpu = True\n"
        "import nodes\n"
        f"assert asyncio.run(nodes.load_custom_node({str(_harness.PACK_LINK)!r})), 'pack failed to load'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(_harness.COMFY_DIR), timeout=600)
