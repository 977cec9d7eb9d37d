"""Reading BrushNet checkpoints in every released form and telling them apart from other files.

Forms: a diffusers folder (``config.json`` + ``diffusion_pytorch_model[.fp16].safetensors|.bin``),
a single ``.safetensors`` file (community repacks, often fp16), legacy ``.bin``/``.pt`` read with
``torch.load(weights_only=True)``. The kind is detected from the tensors themselves.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch

from .config import SD15, SDXL, BrushNetConfig, config_from_diffusers
from ..errors import BrushEditError

POWERPAINT = "powerpaint"
WEIGHT_NAMES = (
    "diffusion_pytorch_model.safetensors",
    "diffusion_pytorch_model.fp16.safetensors",
    "diffusion_pytorch_model.bin",
    "diffusion_pytorch_model.fp16.bin",
)
WEIGHT_EXTENSIONS = (".safetensors", ".bin", ".pt", ".pth", ".ckpt")


class BrushNetCheckpointError(BrushEditError, ValueError):
    """A file that cannot be used as a BrushNet, with what was found and what to do."""


class BrushNetNotFoundError(BrushEditError, FileNotFoundError):
    """A BrushNet file or folder that is not there."""


@dataclass
class CheckpointInfo:
    """What a checkpoint is: kind (sd15/sdxl/powerpaint), its config, and where it came from."""

    kind: str
    config: BrushNetConfig
    path: str
    dtype: torch.dtype


def resolve_weights(path: str) -> tuple[str, str | None]:
    """(weights file, config.json or None) for a file or a diffusers folder."""
    if not os.path.exists(path):
        raise BrushNetNotFoundError(
            f"BrushNet file not found: {path}. Put BrushNet checkpoints under models/brushnet or "
            "models/inpaint (sub-folders are fine) and pick them from the list."
        )
    if os.path.isdir(path):
        for name in WEIGHT_NAMES:
            candidate = os.path.join(path, name)
            if os.path.isfile(candidate):
                cfg = os.path.join(path, "config.json")
                return candidate, cfg if os.path.isfile(cfg) else None
        found = sorted(os.listdir(path))[:12]
        raise BrushNetCheckpointError(
            f"folder {path} holds no BrushNet weights (looked for {', '.join(WEIGHT_NAMES)}; found {found}). "
            "Download the full diffusers folder, or unpack the archive it came in."
        )
    cfg = os.path.join(os.path.dirname(path), "config.json")
    return path, cfg if os.path.isfile(cfg) else None


def read_state_dict(path: str, progress: Callable[[int, int], None] | None = None) -> dict[str, torch.Tensor]:
    """Load tensors safely (safetensors, or torch.load with weights_only=True).

    ``progress(done, total)`` is called while tensors are read (safetensors files); what it raises
    (ComfyUI's interrupt when Cancel is pressed) is passed on unchanged, not reported as a bad file.
    """
    raised: list[BaseException] = []
    if progress is not None:
        report = progress

        def progress(done: int, total: int) -> None:
            try:
                report(done, total)
            except BaseException as exc:
                raised.append(exc)
                raise

    try:
        if path.endswith(".safetensors"):
            from safetensors import safe_open

            out: dict[str, torch.Tensor] = {}
            with safe_open(path, framework="pt", device="cpu") as fh:
                keys = list(fh.keys())
                for i, key in enumerate(keys):
                    out[key] = fh.get_tensor(key)
                    if progress is not None and (i % 16 == 15 or i == len(keys) - 1):
                        progress(i + 1, len(keys))
            return out
        sd = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # corrupt / truncated / not a tensor file
        if raised and err is raised[0]:
            raise
        size = os.path.getsize(path) if os.path.exists(path) else 0
        raise BrushNetCheckpointError(
            f"could not read {path} ({size / 1e6:.1f} MB): {type(err).__name__}: {err}. "
            "The file is probably truncated or corrupt (an interrupted download?): download it again."
        ) from None
    if isinstance(sd, Mapping) and "state_dict" in sd and isinstance(sd["state_dict"], Mapping):
        sd = sd["state_dict"]
    if not isinstance(sd, Mapping):
        raise BrushNetCheckpointError(f"{path} does not contain a state dict (found {type(sd).__name__})")
    return {k: v for k, v in sd.items() if isinstance(v, torch.Tensor)}


def strip_prefix(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Remove a wrapper prefix some repacks add (``brushnet.``, ``model.``) before the real keys."""
    for prefix in ("brushnet.", "model.", "module."):
        if "conv_in_condition.weight" not in sd and f"{prefix}conv_in_condition.weight" in sd:
            return {k[len(prefix):]: v for k, v in sd.items() if k.startswith(prefix)}
    return sd


def describe_foreign(sd: Mapping[str, torch.Tensor]) -> str:
    """A human description of a state dict that is not a BrushNet."""
    keys = list(sd.keys())
    joined = "\n".join(keys[:4000])
    if any(".lora_" in k or "lora_up" in k or "lora_down" in k or k.endswith(".alpha") for k in keys):
        return "a LoRA (load it with LoraLoader)"
    if "controlnet_cond_embedding.conv_in.weight" in sd or "input_hint_block.0.weight" in joined or "zero_convs.0.0.weight" in joined:
        return "a ControlNet (load it with ControlNetLoader / Apply ControlNet)"
    if "model.diffusion_model.input_blocks.0.0.weight" in sd:
        return "a full Stable Diffusion checkpoint (load it with Load Checkpoint)"
    if "input_blocks.0.0.weight" in sd or "diffusion_model.input_blocks.0.0.weight" in sd:
        return "a Stable Diffusion UNet in LDM layout (load it with Load Diffusion Model)"
    if "conv_in.weight" in sd and any(".attentions." in k for k in keys):
        return "a diffusers UNet (load it with Load Diffusion Model)"
    if any(k.startswith(("encoder.down", "decoder.up", "first_stage_model.")) for k in keys):
        return "a VAE (load it with Load VAE)"
    sample = ", ".join(keys[:5])
    return f"an unknown model with {len(keys)} tensors (first keys: {sample})"


def _count(sd: Mapping[str, Any], pattern: str) -> int:
    rx = re.compile(pattern)
    return len({m.group(1) for k in sd for m in [rx.match(k)] if m})


def detect_config(sd: Mapping[str, torch.Tensor], json_config: dict[str, Any] | None = None,
                  source: str = "checkpoint") -> tuple[str, BrushNetConfig]:
    """Detect the BrushNet kind and shapes from tensor names and shapes; raise for anything else."""
    if "conv_in_condition.weight" not in sd or "brushnet_mid_block.weight" not in sd:
        raise BrushNetCheckpointError(
            f"{source} is not a BrushNet model: it looks like {describe_foreign(sd)}. "
            "Pick a BrushNet checkpoint (e.g. random_mask_brushnet_ckpt, segmentation_mask_brushnet_ckpt, "
            "brushnetX, or their _sdxl_v0 versions)."
        )
    if any(".attentions." in k for k in sd):
        return POWERPAINT, BrushNetConfig()
    levels = _count(sd, r"down_blocks\.(\d+)\.resnets\.0\.conv1\.weight")
    if levels == 0:
        raise BrushNetCheckpointError(f"{source}: BrushNet without down blocks: the file is incomplete")
    chans = tuple(int(sd[f"down_blocks.{i}.resnets.0.conv1.weight"].shape[0]) for i in range(levels))
    layers = _count(sd, r"down_blocks\.0\.resnets\.(\d+)\.conv1\.weight")
    mid_layers = _count(sd, r"mid_block\.resnets\.(\d+)\.conv1\.weight")
    total_in = int(sd["conv_in_condition.weight"].shape[1])
    base = BrushNetConfig()
    if json_config:
        base = config_from_diffusers(json_config)
    add_dim, proj = None, None
    if "add_embedding.linear_1.weight" in sd:
        proj = int(sd["add_embedding.linear_1.weight"].shape[1])
        add_dim = base.addition_time_embed_dim or 256
    in_ch = base.in_channels if json_config else 4
    config = base.scaled(
        in_channels=in_ch,
        conditioning_channels=total_in - in_ch,
        block_out_channels=chans,
        layers_per_block=layers,
        mid_block_layers=mid_layers,
        addition_time_embed_dim=add_dim,
        projection_class_embeddings_input_dim=proj,
    )
    if config.conditioning_channels != 5:
        raise BrushNetCheckpointError(
            f"{source}: conv_in_condition takes {total_in} channels, expected 9 (latent 4 + masked image 4 + mask 1)"
        )
    if config.num_levels == 4 and add_dim is None:
        return SD15, config
    if config.num_levels == 3 and add_dim is not None:
        return SDXL, config
    raise BrushNetCheckpointError(
        f"{source}: unrecognised BrushNet layout ({levels} levels with channels {list(chans)}, "
        f"{'with' if add_dim else 'without'} add_embedding); known: SD1.5 (4 levels) and SDXL (3 levels + add_embedding)"
    )


def check_state_dict(model: torch.nn.Module, sd: Mapping[str, torch.Tensor], source: str) -> None:
    """Every key present with the right shape, nothing extra: a hard error naming the file otherwise."""
    expected = {k: tuple(v.shape) for k, v in model.state_dict().items()}
    missing = [k for k in expected if k not in sd]
    unexpected = [k for k in sd if k not in expected]
    wrong = [f"{k} {tuple(sd[k].shape)} != {expected[k]}" for k in expected if k in sd and tuple(sd[k].shape) != expected[k]]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})")
        if wrong:
            parts.append(f"{len(wrong)} with wrong shapes (e.g. {wrong[:2]})")
        raise BrushNetCheckpointError(
            f"{source} does not match the BrushNet layout it claims: " + "; ".join(parts)
            + ". The file may be incomplete or a different model."
        )


def read_checkpoint(path: str, progress: Callable[[int, int], None] | None = None
                    ) -> tuple[dict[str, torch.Tensor], CheckpointInfo]:
    """Read a BrushNet file or folder: its tensors and what kind of BrushNet it is."""
    weights, cfg_path = resolve_weights(path)
    json_config = None
    if cfg_path:
        try:
            with open(cfg_path, encoding="utf-8") as fh:
                json_config = json.load(fh)
        except (OSError, json.JSONDecodeError) as err:
            raise BrushNetCheckpointError(f"cannot read {cfg_path}: {err}") from None
        if json_config.get("_class_name") not in (None, "BrushNetModel"):
            json_config = None  # a neighbour's config (e.g. a UNet folder): rely on the tensors
    sd = strip_prefix(read_state_dict(weights, progress))
    if not sd:
        raise BrushNetCheckpointError(f"{weights} contains no tensors")
    try:
        kind, config = detect_config(sd, json_config if json_config and "down_block_types" in json_config else None,
                                     source=os.path.basename(weights))
    except ValueError as err:
        if isinstance(err, BrushNetCheckpointError):
            raise
        raise BrushNetCheckpointError(f"{weights}: {err}") from None
    dtype = next(iter(sd.values())).dtype
    return sd, CheckpointInfo(kind=kind, config=config, path=weights, dtype=dtype)


def adopt_tensors(make: Callable[[Any], torch.nn.Module], reference_ops: Any, ops: Any,
                  sd: Mapping[str, torch.Tensor], dtype: torch.dtype, source: str) -> torch.nn.Module:
    """Build ``make(ops)`` on the meta device and adopt the file's tensors (one dtype cast, no init).

    Keys and shapes are checked against a skeleton built with plain torch layers
    (``make(reference_ops)``), so the check does not depend on how the host's layer classes
    initialise (ComfyUI's dynamic-VRAM ops start Linear layers with no weight at all). After
    loading, every tensor of the skeleton must be real: none left None or on the meta device.
    """
    with torch.device("meta"):
        skeleton = make(reference_ops)
    check_state_dict(skeleton, sd, source)
    expected = list(skeleton.state_dict().keys())
    del skeleton
    with torch.device("meta"):
        model = make(ops)
    converted = {k: (v if v.dtype == dtype else v.to(dtype)) for k, v in sd.items()}
    model.load_state_dict(converted, strict=True, assign=True)
    loaded = model.state_dict()
    empty = [k for k in expected if loaded.get(k) is None or loaded[k].is_meta]
    if empty:
        raise BrushNetCheckpointError(
            f"{source}: {len(empty)} tensors stayed empty after loading (e.g. {empty[:3]}): the host's layer "
            "classes did not take the weights. Please report this with the ComfyUI version line from the log."
        )
    return model.eval().requires_grad_(False)


def build_model(config: BrushNetConfig, sd: Mapping[str, torch.Tensor], ops: Any = None,
                dtype: torch.dtype = torch.float32, source: str = "checkpoint") -> torch.nn.Module:
    """A BrushNetModel holding the checkpoint's tensors, its layers made by ``ops``."""
    from .model import TORCH_OPS, BrushNetModel

    return adopt_tensors(lambda layer_ops: BrushNetModel(config, ops=layer_ops), TORCH_OPS, ops or TORCH_OPS,
                         sd, dtype, source)
