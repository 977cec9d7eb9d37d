"""Bootstrap the real ComfyUI host in-process and run API-format prompts through its executor.

Nothing here fakes ComfyUI: ``comfy``, ``nodes``, ``execution`` and ``folder_paths`` are the real
modules of the pinned host installed by ``scripts/host.sh``. The only stand-in is the tiny
``RecordingServer`` object that ``execution.PromptExecutor`` sends progress messages to (the role
``server.PromptServer`` plays in ``main.py``).
"""
from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
COMFY_DIR = Path(os.environ.get("BRUSHEDIT_COMFY_DIR", ROOT / ".host" / "ComfyUI"))
EXAMPLES_DIR = Path(os.environ.get("BRUSHEDIT_EXAMPLES", ROOT / "tests" / "data" / "examples"))
CONFIGS_DIR = Path(os.environ.get("BRUSHEDIT_CONFIGS", ROOT / "tests" / "data" / "configs"))
PACK_LINK = COMFY_DIR / "custom_nodes" / "ComfyUI-BrushEdit"
PACK_MODULE = str(PACK_LINK).replace(".", "_x_")  # how nodes.load_custom_node names it

_booted = False


def _ensure_paths() -> None:
    """ComfyUI's folder first (its ``nodes`` must win over our ``nodes/``), the repository root last."""
    if str(COMFY_DIR) not in sys.path:
        sys.path.insert(0, str(COMFY_DIR))
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))


_ensure_paths()


def boot_host(models_dir: Path | None = None) -> None:
    """Import the real ComfyUI (CPU only), its built-in extra nodes and this pack. Idempotent."""
    global _booted
    if _booted:
        return
    if not (COMFY_DIR / "main.py").exists():
        raise RuntimeError(f"ComfyUI host not found at {COMFY_DIR}: run `bash scripts/host.sh install`")
    if str(COMFY_DIR) not in sys.path:
        sys.path.insert(0, str(COMFY_DIR))
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))  # after ComfyUI, so ComfyUI's `nodes` wins over our `nodes/`
    from comfy.cli_args import args

    args.cpu = True
    args.disable_xformers = True
    import folder_paths

    if models_dir is not None:
        folder_paths.models_dir = str(models_dir)
        for name, (paths, _exts) in list(folder_paths.folder_names_and_paths.items()):
            sub = Path(paths[0]).name if paths else name
            paths.insert(0, str(models_dir / sub))
    out = (models_dir or ROOT / "out") / "_output"
    folder_paths.set_output_directory(str(out))
    folder_paths.set_temp_directory(str(out / "temp"))
    folder_paths.set_input_directory(str((models_dir or ROOT / "out") / "_input"))
    for d in (out, out / "temp", (models_dir or ROOT / "out") / "_input"):
        d.mkdir(parents=True, exist_ok=True)
    import utils.extra_config  # noqa: F401  (as main.py does: binds `utils` to ComfyUI's package)
    import utils.install_util  # noqa: F401
    import nodes

    asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
    ok = asyncio.run(nodes.load_custom_node(str(PACK_LINK)))
    if not ok:
        raise RuntimeError("ComfyUI failed to load the ComfyUI-BrushEdit pack (see log above)")
    _booted = True


def pack_module(name: str = "") -> Any:
    """The pack's own module as ComfyUI imported it, e.g. ``pack_module('brushnet_core.branch.model')``."""
    full = PACK_MODULE + ("." + name if name else "")
    if full not in sys.modules:
        import importlib

        return importlib.import_module(full)
    return sys.modules[full]


def host_node(name: str, **inputs: Any) -> tuple:
    """Run one of ComfyUI's own nodes by its id and return its outputs, whichever API the host gives it:
    a V3 node (``execute`` classmethod, newer hosts) or a V1 node (``FUNCTION`` method, e.g. 0.3.52's
    DifferentialDiffusion and PatchModelAddDownscale)."""
    import nodes

    cls = nodes.NODE_CLASS_MAPPINGS[name]
    if hasattr(cls, "execute"):
        return tuple(cls.execute(**inputs).args)
    return tuple(getattr(cls(), cls.FUNCTION)(**inputs))


class RecordingServer:
    """Receives the executor's progress/status messages, as ``server.PromptServer`` would."""

    def __init__(self) -> None:
        self.client_id = None
        self.last_node_id = None
        self.last_prompt_id = None
        self.messages: list[tuple[str, dict]] = []

    def send_sync(self, event: str, data: dict, sid: Any = None) -> None:
        self.messages.append((event, data))

    def queue_updated(self) -> None:  # pragma: no cover - parity with PromptServer
        pass


class PromptFailed(RuntimeError):
    """A prompt was rejected by validation or failed while executing."""

    def __init__(self, message: str, details: Any) -> None:
        super().__init__(message)
        self.details = details


class PromptRun:
    """The outcome of one executed prompt: node outputs (tensors) and UI results."""

    def __init__(self, executor: Any, prompt: dict, server: RecordingServer) -> None:
        self.executor = executor
        self.prompt = prompt
        self.server = server

    def outputs(self, node_id: str) -> list:
        entry = self.executor.caches.outputs.get(str(node_id))
        entry = asyncio.run(entry) if asyncio.iscoroutine(entry) else entry
        if entry is None:
            raise KeyError(f"node {node_id} has no cached outputs")
        outs = entry.outputs if hasattr(entry, "outputs") else entry
        return [o[0] if isinstance(o, list) and len(o) == 1 else o for o in outs]

    @property
    def ui(self) -> dict:
        return self.executor.history_result.get("outputs", {})


_executor = None
_server = None


def _new_executor(execution: Any, server: RecordingServer) -> Any:
    """A classic-cache executor, as ``main.py`` builds it (0.3.75: ``cache_args``; 0.3.52: ``cache_size``)."""
    import inspect

    params = inspect.signature(execution.PromptExecutor).parameters
    cache = {"cache_args": {"lru": 0, "ram": 0}} if "cache_args" in params else {"cache_size": 0}
    return execution.PromptExecutor(server, cache_type=execution.CacheType.CLASSIC, **cache)


def run_prompt(prompt: dict, *, targets: list[str] | None = None, fresh_cache: bool = True) -> PromptRun:
    """Validate and execute an API-format prompt with ComfyUI's own code; raise PromptFailed.

    ``targets``: node ids to compute even though they are not output nodes (each gets a core
    ``PreviewAny`` output node attached, as a user would do to inspect a value).
    """
    import execution

    global _executor, _server
    boot_host()
    if targets:
        prompt = dict(prompt)
        for node_id in targets:
            prompt[f"_preview_{node_id}"] = {"class_type": "PreviewAny", "inputs": {"source": [str(node_id), 0]}}
    if _executor is None or fresh_cache:
        _server = RecordingServer()
        _executor = _new_executor(execution, _server)
    prompt_id = str(uuid.uuid4())
    valid = asyncio.run(execution.validate_prompt(prompt_id, prompt, None))
    if not valid[0]:
        raise PromptFailed(f"prompt rejected: {valid[1]} {valid[3]}", valid)
    _server.messages.clear()
    _executor.execute(prompt, prompt_id, {}, valid[2])
    if not _executor.success:
        errors = [d for e, d in _executor.status_messages if e == "execution_error"]
        msg = errors[0].get("exception_message", "") if errors else "unknown error"
        raise PromptFailed(msg.strip(), errors)
    return PromptRun(_executor, prompt, _server)
