"""Random-weight big-lama and MAT in the released file formats, for the pre-fill tests.

spandrel builds both architectures at their one released size (its LaMa and MAT classes take no
width or depth), so a stand-in cannot be made narrower: these are the real architectures with
seeded random weights (big-lama 51 M, MAT 62 M parameters), written as fp16 files.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

LAMA_FILE = "big-lama.pt"  # the name users have (a TorchScript archive)
LAMA_SAFETENSORS = "big-lama.safetensors"
MAT_FILE = "MAT_Places512_G_fp16.safetensors"


def random_lama_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    from spandrel.architectures.LaMa import LaMa

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = LaMa(in_nc=4, out_nc=3)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def random_mat_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    from spandrel_extra_arches.architectures.MAT import MAT

    with torch.random.fork_rng():
        torch.manual_seed(seed)
        model = MAT()
    return {k.removeprefix("model."): v.detach().clone() for k, v in model.state_dict().items()}


class _Holder(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


def write_torchscript(path: Path, state_dict: dict[str, torch.Tensor]) -> Path:
    """A TorchScript archive whose state dict is ``state_dict`` (the layout of big-lama.pt)."""
    root = _Holder()
    for key, tensor in state_dict.items():
        *parts, leaf = key.split(".")
        module = root
        for part in parts:
            if not hasattr(module, part):
                module.add_module(part, _Holder())
            module = getattr(module, part)
        module.register_buffer(leaf, tensor.half() if tensor.is_floating_point() else tensor)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.jit.script(root).save(str(path))
    return path


def write_safetensors(path: Path, state_dict: dict[str, torch.Tensor]) -> Path:
    import safetensors.torch

    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({k: (v.half() if v.is_floating_point() else v).contiguous()
                                 for k, v in state_dict.items()}, str(path))
    return path


def has_extra_arches() -> bool:
    try:
        import spandrel_extra_arches  # noqa: F401
    except ImportError:
        return False
    return True
