"""RAU-Net (HiDiffusion's resolution-aware UNet) for LDM-layout SD1.5/SD2 and SDXL UNets, pure torch.

Generating far above a model's native size duplicates objects because the deep levels see a
feature map far larger than in training. RAU-Net shrinks it during the first steps, in two
independent parts (the earlier ComfyUI-BrushNet pack's names):

- **DU (Res-Down/Res-Up):** one downsampler (level 0 on SD1.5, level 1 on SDXL) becomes a 3x3
  convolution with dilation 2, stride 4 and padding 2, so everything below it runs at half
  size. The matching upsampler already interpolates to the size of its skip connection (ComfyUI
  passes that size to ``Upsample``), so it becomes the x4 Res-Up by itself.
- **XA (cross-attention part):** after the first res(+attn) block of level 1 the feature map is
  average-pooled 2x2 (ceil mode); the skip stored there is the pooled one. Before the last
  output block of level 1 it is restored, bicubic, to the size of that block's skip.

Each part is on for sampling steps ``[start, end)`` (0-based step indices). The dilated
convolution is computed by the model's own downsampler on the even-indexed pixels of its input:
for a 3x3 kernel, stride 4 / dilation 2 / padding 2 reads exactly the pixels at even positions,
where stride 2 / padding 1 on the subsampled map reads the same ones (output size ceil(n/4) both
ways). So the model's layer, with whatever weight casting or LoRA it carries, does the work.

With BrushNet or PowerPaint on the same model (as the earlier pack allowed), the branch's features,
computed at the native sizes, are resized to every hidden state whose size RAU-Net changed
(:func:`add_point_sizes` gives the sizes, the branch's injection resizes), and they are added
before XA pools or restores a block's features (:func:`branch_adds_first`): the earlier pack added
them inside the block, before any block patch ran.

Nothing here imports ComfyUI; placement comes from the UNet's structure (levels, res blocks),
never from layer classes.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from .errors import BrushEditError

SD15_LAYOUT = "sd15"  #: 4 levels of 2 res blocks (SD1.x, SD2.x, their inpainting variants)
SDXL_LAYOUT = "sdxl"  #: 3 levels of 2 res blocks (SDXL base and inpainting)
#: transformer_options key where the RAUNet node leaves its RAUNetPatches, for a branch on the same model
RAUNET_OPTION = "brushedit_raunet"
Size = tuple[int, int]


class RAUNetUnsupportedModel(BrushEditError, ValueError):
    """The model is not an SD1.5/SD2- or SDXL-layout UNet."""


class RAUNetHostError(BrushEditError, RuntimeError):
    """The host called a RAU-Net block without what it needs (a ComfyUI change in the UNet's calls)."""


@dataclass(frozen=True)
class RAUNetPlan:
    """Where the two parts act, as block indices of an LDM UNet."""

    layout: str
    du_block: int  #: input block whose downsampler becomes Res-Down
    xa_in_block: int  #: input block after which h is average-pooled
    xa_out_block: int  #: output block before which h is restored to its skip's size
    block_kinds: tuple[str, ...]  #: per input block: "in", "res" or "down"


def plan_for(unet: nn.Module, describe: str = "this model") -> RAUNetPlan:
    """The RAU-Net placement for ``unet``, or RAUNetUnsupportedModel naming what was found."""
    needed = ("input_blocks", "output_blocks", "channel_mult", "num_res_blocks")
    if not all(hasattr(unet, a) for a in needed):
        raise RAUNetUnsupportedModel(
            f"RAUNet works on SD1.5/SD2 and SDXL UNets; {describe} has a {type(unet).__name__} network without "
            "UNet down/up blocks (Flux, SD3 and other transformer models have no downsampler to change). "
            "Remove the RAUNet node for this model."
        )
    mult, nrb = list(unet.channel_mult), [int(n) for n in unet.num_res_blocks]
    levels = len(mult)
    if levels == 4 and nrb == [2, 2, 2, 2]:
        layout, du_level = SD15_LAYOUT, 0
    elif levels == 3 and nrb == [2, 2, 2]:
        layout, du_level = SDXL_LAYOUT, 1
    else:
        raise RAUNetUnsupportedModel(
            f"RAUNet supports SD1.5/SD2 (4 levels) and SDXL (3 levels) UNets with 2 res blocks per level; "
            f"{describe} has {levels} levels with res blocks {nrb}. Remove the RAUNet node for this model."
        )
    kinds = ["in"]
    down_index: dict[int, int] = {}
    first_res: dict[int, int] = {}
    for level in range(levels):
        first_res[level] = len(kinds)
        kinds += ["res"] * nrb[level]
        if level < levels - 1:
            down_index[level] = len(kinds)
            kinds.append("down")
    if len(unet.input_blocks) != len(kinds) or len(unet.output_blocks) != sum(n + 1 for n in nrb):
        raise RAUNetUnsupportedModel(
            f"unexpected UNet layout in {describe}: {len(unet.input_blocks)} input / {len(unet.output_blocks)} "
            f"output blocks for {levels} levels of {nrb} res blocks"
        )
    # Output blocks walk the levels in reverse, nrb + 1 blocks each; level 1's last one holds its upsampler.
    xa_out = sum(nrb[lv] + 1 for lv in range(levels - 1, 0, -1)) - 1
    plan = RAUNetPlan(layout, down_index[du_level], first_res[1], xa_out, tuple(kinds))
    layer = downsampler_of(unet.input_blocks[plan.du_block])
    if layer is None:
        raise RAUNetUnsupportedModel(
            f"{describe}: input block {plan.du_block} holds no convolutional downsampler, which RAUNet's Res-Down "
            "replaces. Remove the RAUNet node for this model."
        )
    return plan


def downsampler_of(block: nn.Module) -> nn.Module | None:
    """The downsampling layer of an input block: one child with a 3x3, stride-2 conv ``op``."""
    children = list(block.children()) if isinstance(block, nn.Module) else []
    if len(children) != 1:
        return None
    op = getattr(children[0], "op", None)
    ok = (op is not None and tuple(getattr(op, "kernel_size", ())) == (3, 3)
          and tuple(getattr(op, "stride", ())) == (2, 2) and tuple(getattr(op, "padding", ())) == (1, 1)
          and tuple(getattr(op, "dilation", (1, 1))) == (1, 1))
    return children[0] if ok else None


@dataclass(frozen=True)
class RAUNetSchedule:
    """Which sampling steps each part is on: [du_start, du_end) and [xa_start, xa_end)."""

    du_start: int = 0
    du_end: int = 4
    xa_start: int = 4
    xa_end: int = 10

    def is_off(self) -> bool:
        return self.du_start >= self.du_end and self.xa_start >= self.xa_end

    def flags(self, step: int | None) -> tuple[bool, bool]:
        """(DU on, XA on) at sampling step ``step`` (None: not inside a sampler; both off)."""
        if step is None:
            return False, False
        return self.du_start <= step < self.du_end, self.xa_start <= step < self.xa_end


def step_index(sigmas: Any, sample_sigmas: Any) -> int | None:
    """The 0-based sampling step a model call belongs to: the last schedule sigma >= the call's sigma.

    Intermediate calls of multi-stage samplers (Heun, DPM++ 2S, ...) count as the step they refine.
    """
    if not isinstance(sigmas, torch.Tensor) or not isinstance(sample_sigmas, torch.Tensor) or sample_sigmas.numel() == 0:
        return None
    sigma = float(sigmas.detach().float().max())
    tol = max(abs(sigma) * 1e-5, 1e-8)
    return max(int((sample_sigmas.detach().float().cpu() >= sigma - tol).sum().item()) - 1, 0)


def res_down(layer: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Res-Down through the model's own stride-2 layer: dilation 2, stride 4, padding 2 (see module doc)."""
    return layer(x[..., ::2, ::2])


def xa_pool(h: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(h, kernel_size=2, ceil_mode=True)


def xa_restore(h: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    size = (int(size[0]), int(size[1]))
    return h if tuple(h.shape[-2:]) == size else F.interpolate(h, size=size, mode="bicubic")


def _half(n: int) -> int:
    return math.ceil(n / 2)


def block_sizes(plan: RAUNetPlan, hw: Size, du: bool, xa: bool) -> tuple[list[Size], list[Size]]:
    """Spatial sizes per input block: (after the block, as ControlNet's 'input' sees it; as stored as skip)."""
    after: list[Size] = []
    skips: list[Size] = []
    h, w = int(hw[0]), int(hw[1])
    for i, kind in enumerate(plan.block_kinds):
        if kind == "down":
            h, w = _half(h), _half(w)
            if du and i == plan.du_block:
                h, w = _half(h), _half(w)
        after.append((h, w))
        if xa and i == plan.xa_in_block:
            h, w = _half(h), _half(w)
        skips.append((h, w))
    return after, skips


def restore_size(plan: RAUNetPlan, hw: Size, du: bool, xa: bool) -> Size:
    """The size XA restores to: the skip consumed by ``xa_out_block`` (when a host passes no skip)."""
    _, skips = block_sizes(plan, hw, du, xa)
    return skips[len(plan.block_kinds) - 1 - plan.xa_out_block]


def add_point_sizes(plan: RAUNetPlan, hw: Size, du: bool, xa: bool) -> tuple:
    """h's spatial sizes where a branch adds its features (injection.BlockSizes): per input block at
    its end (before XA's pooling), after the middle block, per output block inside it, and per
    output block after it (an upsampler goes to the next skip's size, as ComfyUI's ``Upsample`` does)."""
    after, skips = block_sizes(plan, hw, du, xa)
    n = len(plan.block_kinds)
    inside = [skips[n - 1 - j] for j in range(n)]
    behind = [skips[n - 2 - j] if plan.block_kinds[n - 1 - j] == "down" else skips[n - 1 - j] for j in range(n)]
    return after, skips[-1], inside, behind


def branch_adds_first(patches: list, is_branch: Callable[[Any], bool]) -> list:
    """``patches`` (one block-patch list) with RAU-Net's patches moved just behind the last branch add.

    So a branch's feature of a block is added before XA pools (input) or restores (output) h there,
    whatever order the nodes were applied in. Returns ``patches`` itself when nothing moves.
    """
    last = max((i for i, p in enumerate(patches) if is_branch(p)), default=-1)
    ours = [p for p in patches[:max(last, 0)] if _is_raunet_patch(p)]
    if not ours:
        return patches
    return [p for p in patches[:last + 1] if not _is_raunet_patch(p)] + ours + list(patches[last + 1:])


def _is_raunet_patch(patch: Any) -> bool:
    return isinstance(getattr(patch, "__self__", None), RAUNetPatches)


def _resized(items: list, targets: list[Size], natives: list[Size]) -> list:
    """Items matched to targets from the END (ComfyUI pops control residuals last-first)."""
    out = list(items)
    for k in range(1, min(len(out), len(targets)) + 1):
        t = out[-k]
        if isinstance(t, torch.Tensor) and t.ndim == 4 and tuple(t.shape[-2:]) == natives[k - 1] \
                and natives[k - 1] != targets[k - 1]:
            out[-k] = F.interpolate(t, size=targets[k - 1], mode="bicubic").to(t.dtype)
    return out


def fit_control(control: dict | None, plan: RAUNetPlan, hw: Size, du: bool, xa: bool) -> dict | None:
    """A copy of a ControlNet/T2I-Adapter residual dict resized (bicubic) to this call's feature sizes.

    ``input`` entries are added after input block i (popped last-first), ``middle`` after the
    middle block, ``output`` to the skip an output block consumes (input blocks in reverse).
    """
    if not control or not (du or xa):
        return control
    after, skips = block_sizes(plan, hw, du, xa)
    n_after, n_skips = block_sizes(plan, hw, False, False)
    out = dict(control)
    if isinstance(control.get("input"), list):
        out["input"] = _resized(control["input"], after, n_after)
    if isinstance(control.get("middle"), list):
        out["middle"] = _resized(control["middle"], [skips[-1]], [n_skips[-1]])
    if isinstance(control.get("output"), list):
        out["output"] = _resized(control["output"], skips[::-1], n_skips[::-1])
    return out


class RAUNetPatches:
    """The callables one RAUNet node registers: a layer handler and the two block patches.

    They hold no model and no per-call state: the step comes from each call's options
    (``sigmas`` and ``sample_sigmas``), the layer from the model that actually runs.
    """

    def __init__(self, plan: RAUNetPlan, schedule: RAUNetSchedule) -> None:
        self.plan, self.schedule = plan, schedule

    def flags(self, options: dict) -> tuple[bool, bool]:
        return self.schedule.flags(step_index(options.get("sigmas"), options.get("sample_sigmas")))

    def branch_sizes(self, options: dict, hw: Size) -> tuple[tuple, tuple] | None:
        """(native, this call's) sizes at a branch's add points (:func:`add_point_sizes`), or None
        when neither part is on in this call (the UNet keeps its native sizes)."""
        du, xa = self.flags(options)
        if not (du or xa):
            return None
        return add_point_sizes(self.plan, hw, False, False), add_point_sizes(self.plan, hw, du, xa)

    def downsample(self, layer: nn.Module, x: torch.Tensor, emb: Any = None, context: Any = None,
                   transformer_options: dict | None = None, *args: Any, **kwargs: Any) -> torch.Tensor:
        """Handler for the UNet's downsampler layers: Res-Down in the planned block while DU is on."""
        options = transformer_options or {}
        if options.get("block") == ("input", self.plan.du_block) and self.flags(options)[0]:
            return res_down(layer, x)
        return layer(x)

    def input_patch(self, h: torch.Tensor, transformer_options: dict, **kwargs: Any) -> torch.Tensor:
        if transformer_options.get("block") == ("input", self.plan.xa_in_block) and self.flags(transformer_options)[1]:
            return xa_pool(h)
        return h

    def output_patch(self, h: torch.Tensor, hsp: torch.Tensor | None, transformer_options: dict, **kwargs: Any):
        if transformer_options.get("block") != ("output", self.plan.xa_out_block):
            return h, hsp
        du, xa = self.flags(transformer_options)
        if not xa:
            return h, hsp
        if hsp is not None:
            size = hsp.shape[-2:]
        else:
            shape = transformer_options.get("original_shape")
            if not shape:
                raise RAUNetHostError("RAUNet: the host passed neither the skip connection nor the input shape to "
                                      "the output block patch; cannot restore the pooled features")
            size = restore_size(self.plan, (shape[-2], shape[-1]), du, xa)
        return xa_restore(h, size), hsp
