"""ComfyUI booted in-process on the device, and the model builders both parts use."""
from __future__ import annotations

import asyncio
import gc
import os
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch

ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"


def comfy_dir() -> Path:
    """The ComfyUI tree: $BRUSHEDIT_COMFY_DIR, else the bundled copy in .whl/, else .host/ComfyUI."""
    env = os.environ.get("BRUSHEDIT_COMFY_DIR")
    if env:
        return Path(env)
    bundled = ROOT / ".whl" / "ComfyUI"
    return bundled if (bundled / "main.py").exists() else ROOT / ".host" / "ComfyUI"


def boot(models_dir: Path, cpu: bool) -> Any:
    """The real ComfyUI in-process, as tests/_harness.boot_host does, but on the GPU when ``cpu`` is False.

    _harness pins ``--cpu`` for the test suite; this is the same sequence with the device left to
    ComfyUI (args.cpu stays False: ComfyUI picks CUDA). The pack is loaded from the repository root
    (no custom_nodes link needed in the carried tree) and _harness is told its module name, so the
    test helpers' ``pack_module`` finds it.
    """
    os.environ.setdefault("BRUSHEDIT_COMFY_DIR", str(comfy_dir()))
    if str(TESTS) not in sys.path:
        sys.path.append(str(TESTS))
    import _harness  # noqa: E402  (puts ComfyUI first on sys.path, the repository root last)

    if not (_harness.COMFY_DIR / "main.py").exists():
        raise RuntimeError(f"ComfyUI not found at {_harness.COMFY_DIR}: run `bash scripts/gpu_check.sh prepare` here")
    from comfy.cli_args import args

    args.cpu = cpu
    args.disable_xformers = True
    import folder_paths

    folder_paths.models_dir = str(models_dir)
    for _name, (paths, _exts) in list(folder_paths.folder_names_and_paths.items()):
        sub = Path(paths[0]).name if paths else _name
        paths.insert(0, str(models_dir / sub))
    for d in ("_output", "_output/temp", "_input"):
        (models_dir / d).mkdir(parents=True, exist_ok=True)
    folder_paths.set_output_directory(str(models_dir / "_output"))
    folder_paths.set_temp_directory(str(models_dir / "_output" / "temp"))
    folder_paths.set_input_directory(str(models_dir / "_input"))
    import utils.extra_config  # noqa: F401  (as main.py does: binds `utils` to ComfyUI's package)
    import utils.install_util  # noqa: F401
    import nodes

    asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
    if not asyncio.run(nodes.load_custom_node(str(ROOT))):
        raise RuntimeError("ComfyUI failed to load the ComfyUI-BrushEdit pack (see log above)")
    _harness.PACK_MODULE = str(ROOT).replace(".", "_x_")  # how load_custom_node named it
    _harness._booted = True  # run_prompt must not boot again (with --cpu)
    import comfy.utils

    comfy.utils.PROGRESS_BAR_ENABLED = False
    return _harness


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def free_memory() -> None:
    import comfy.model_management as mm

    mm.unload_all_models()
    gc.collect()
    mm.soft_empty_cache()


@torch.no_grad()
def randomize_on(module: torch.nn.Module, seed: int, device: torch.device) -> torch.nn.Module:
    """demo.random_weights' values rule (random, never zero), drawn on ``device``: a full-size SDXL
    has 2.6 G weights, which the CPU generator would take minutes over."""
    from demo.random_weights import _fill

    module.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.device(device):
        for name, p in sorted(module.named_parameters(), key=lambda kv: kv[0]):
            _fill(p, name, gen, 1.0)
        for name, b in sorted(module.named_buffers(), key=lambda kv: kv[0]):
            if b.is_floating_point() and b.numel() > 0 and not name.endswith("position_ids"):
                _fill(b, name, gen, 1.0)
    return module


def comfy_model(arch: str, unet: dict, dtype: torch.dtype, device: torch.device | None = None) -> Any:
    """ComfyUI's own SD1.5/SDXL model class with weights in ``dtype`` (uninitialised)."""
    import comfy.supported_models as sm

    model_config = (sm.SD15 if arch == "sd15" else sm.SDXL)(dict(unet))
    model_config.set_inference_dtype(dtype, None)
    return model_config.get_model({}, "", device=device)


def patcher(model: torch.nn.Module) -> Any:
    import comfy.model_management as mm
    import comfy.model_patcher

    return comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def fp32_twin(base: Any, arch: str, unet: dict, dev: torch.device) -> SimpleNamespace:
    """An fp32 copy of ``base`` (same weights, upcast) on ``dev``, shaped like a ModelPatcher for the references."""
    twin = comfy_model(arch, unet, torch.float32, device=dev)
    sd = base.model.diffusion_model.state_dict()
    twin.diffusion_model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    twin.to(dev).requires_grad_(False)
    return SimpleNamespace(model=twin)
