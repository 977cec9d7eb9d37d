"""The one place that knows the shapes of ComfyUI's internals.

ComfyUI changes its internals between releases (ops that start empty under dynamic VRAM, the
tokenizer's embedding lookup arity, models swapped at sampling time, multi-GPU clones). Every
other file asks this module instead of looking at ComfyUI itself. Features are detected by
probing the host, never from a version number; the result is logged once at load.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import asdict, dataclass
from typing import Any, Callable

import torch

import comfy.model_management as mm
import comfy.model_patcher
import comfy.ops
import comfy.patcher_extension as pe

log = logging.getLogger("BrushEdit")

#: the oldest ComfyUI this pack is tested on (CI runs it); older hosts are refused at load
OLDEST_SUPPORTED = "0.3.52"


@dataclass(frozen=True)
class HostFeatures:
    """What the running ComfyUI offers, found by probing it."""

    version: str
    lazy_linear_init: bool  #: ops.Linear starts without weights (dynamic VRAM / aimdo)
    tokenizer_lookup_arity: int  #: values SDTokenizer._try_get_embedding returns (2 old, 3 new)
    block_patches: tuple[str, ...]  #: the UNet block patch setters ModelPatcher has
    injections: bool  #: ModelPatcher.set_injections + PatcherInjection (model-bound patches)
    dynamic_patcher: bool  #: ModelPatcherDynamic / CoreModelPatcher exists
    multigpu_clones: bool  #: ModelPatcher.deepclone_multigpu exists
    interrupt_api: bool  #: model_management.processing_interrupted exists


def comfyui_version() -> str:
    try:
        from comfyui_version import __version__

        return str(__version__)
    except Exception:  # a host tree without the version file
        return "unknown"


def _probe_lazy_linear() -> bool:
    try:
        with torch.device("meta"):
            layer = comfy.ops.disable_weight_init.Linear(2, 2)
        return layer.weight is None
    except Exception:
        return False


def _probe_lookup_arity() -> int:
    """Call the host's own lookup on a bare tokenizer for a name that cannot exist."""
    try:
        import comfy.sd1_clip as sd1

        tok = object.__new__(sd1.SDTokenizer)
        tok.embedding_directory, tok.embedding_size, tok.embedding_key = [], 768, "clip_l"
        return len(tok._try_get_embedding("brushedit_probe_no_such_embedding"))
    except Exception:
        return 2


@functools.lru_cache(maxsize=1)
def features() -> HostFeatures:
    patcher = comfy.model_patcher.ModelPatcher
    setters = ("set_model_input_block_patch", "set_model_input_block_patch_after_skip",
               "set_model_output_block_patch", "set_model_patch")
    return HostFeatures(
        version=comfyui_version(),
        lazy_linear_init=_probe_lazy_linear(),
        tokenizer_lookup_arity=_probe_lookup_arity(),
        block_patches=tuple(s for s in setters if hasattr(patcher, s)),
        injections=hasattr(patcher, "set_injections") and hasattr(pe, "PatcherInjection"),
        dynamic_patcher=hasattr(comfy.model_patcher, "ModelPatcherDynamic") or hasattr(comfy.model_patcher,
                                                                                         "CoreModelPatcher"),
        multigpu_clones=hasattr(patcher, "deepclone_multigpu"),
        interrupt_api=hasattr(mm, "processing_interrupted"),
    )


def missing_requirements() -> list[str]:
    """Host features the pack cannot work without (empty on a supported ComfyUI)."""
    need = {
        "comfy_api.latest (V3 node API)": _has_module("comfy_api.latest"),
        "ModelPatcher.add_wrapper_with_key": hasattr(comfy.model_patcher.ModelPatcher, "add_wrapper_with_key"),
        "WrappersMP.DIFFUSION_MODEL / OUTER_SAMPLE": all(hasattr(getattr(pe, "WrappersMP", None), w)
                                                         for w in ("DIFFUSION_MODEL", "OUTER_SAMPLE")),
        "ModelPatcher.set_injections": hasattr(comfy.model_patcher.ModelPatcher, "set_injections"),
        "ModelPatcher.set_model_input_block_patch_after_skip": hasattr(comfy.model_patcher.ModelPatcher,
                                                                       "set_model_input_block_patch_after_skip"),
    }
    return [name for name, ok in need.items() if not ok]


def _has_module(name: str) -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def log_host_once() -> None:
    """One line a user can paste into a bug report: ComfyUI version and what was detected."""
    f = features()
    detail = ", ".join(f"{k}={v}" for k, v in asdict(f).items() if k != "version")
    log.info("[BrushEdit] ComfyUI %s; detected: %s", f.version, detail)


# --- model building -------------------------------------------------------------------------

def layer_ops() -> Any:
    """The ComfyUI ops namespace extra networks are built with (casting, low-VRAM, lazy init)."""
    return comfy.ops.disable_weight_init


# --- sampling -------------------------------------------------------------------------------

def model_injection(inject: Callable[[Any], None], eject: Callable[[Any], None]) -> Any:
    """A patch bound to whichever model instance is loaded for sampling (re-run on every copy)."""
    return pe.PatcherInjection(inject=inject, eject=eject)


def multigpu_devices(patcher: Any) -> int:
    """How many extra devices a model is set to sample on (ComfyUI's MultiGPU nodes); 0 when none."""
    getter = getattr(patcher, "get_additional_models_with_key", None)
    if getter is None:
        return 0
    return len(getter("multigpu"))


# --- interrupts -----------------------------------------------------------------------------

def interrupt_requested() -> bool:
    """True once the user pressed Cancel (ComfyUI's interrupt flag)."""
    probe = getattr(mm, "processing_interrupted", None)
    return bool(probe()) if probe is not None else False


def raise_if_cancelled() -> None:
    """Raise ComfyUI's own interrupt exception when Cancel was pressed (the UI shows "cancelled")."""
    mm.throw_exception_if_processing_interrupted()


def cancel_check() -> Callable[[], None]:
    """The callable the core polls in long loops and network waits (raises on Cancel)."""
    return raise_if_cancelled


def schema_fields() -> frozenset[str]:
    """The fields the host's ``io.Schema`` takes (``search_aliases`` arrived after ComfyUI 0.3.75)."""
    import dataclasses

    from comfy_api.latest import io

    return frozenset(f.name for f in dataclasses.fields(io.Schema))
