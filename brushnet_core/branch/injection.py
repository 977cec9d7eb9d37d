"""Where BrushNet features enter an LDM-layout UNet, and the small callables that add them.

The plan is derived from the UNet's structure only (number of levels, res blocks per level,
channel multipliers): never from layer classes, so any ops class (fp8, GGUF, manual cast) works.

Placement (BrushNet paper / official diffusers fork), for an LDM UNet with ``input_blocks``,
``middle_block`` and ``output_blocks``:
- input block 0 (conv_in): the skip is stored BEFORE the add; the add only affects what flows on;
- every other input block (res(+attn) or downsampler): add before the skip is stored;
- after the middle block: add the mid feature;
- output blocks: after each res(+attn) add the next up feature; in a block that ends with an
  upsampler, one add happens before the upsampler and one after it.

A feature is added as it is when its spatial size equals the hidden state's (always, unless another
patch changes the UNet's sizes). Where RAU-Net changed them in this call, :class:`SizeFit` says to
what, and the feature is resized (:func:`resize_feature`); any other mismatch is a
:class:`FeatureSizeError`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .model import BrushNetFeatures, BrushNetRuntimeError
from ..errors import BrushEditError


class IncompatibleModelError(BrushEditError, ValueError):
    """The base model cannot take this BrushNet (different architecture or channels)."""


class FeatureSizeError(BrushEditError, ValueError):
    """A feature's spatial size differs from the UNet's hidden state where no RAU-Net change explains it."""


Size = tuple[int, int]
#: an injection point: ("down", i), ("mid", 0) or ("up", k), k the index in the up features
Point = tuple[str, int]
#: spatial sizes of h at the add points of an LDM UNet: (per input block, at its end; after the middle
#: block; per output block, inside it; per output block, after it, i.e. after its upsampler)
BlockSizes = tuple[Sequence[Size], Size, Sequence[Size], Sequence[Size]]


@dataclass(frozen=True)
class InjectionPlan:
    """Which feature goes where, by block index."""

    num_input_blocks: int
    num_output_blocks: int
    down_channels: tuple[int, ...]
    up_channels: tuple[int, ...]
    #: output block j -> index of the up feature added after block j's res(+attn) and upsampler
    after_output_block: dict[int, int] = field(default_factory=dict)
    #: output block j -> index of the up feature added before block j's trailing upsampler
    before_upsampler: dict[int, int] = field(default_factory=dict)

    @property
    def last_output_block(self) -> int:
        return self.num_output_blocks - 1


def unet_structure(unet: nn.Module) -> tuple[int, list[int], list[int]]:
    """(model_channels, channel_mult, num_res_blocks) of an LDM UNet, checked against its blocks."""
    needed = ("input_blocks", "output_blocks", "model_channels", "channel_mult", "num_res_blocks")
    if not all(hasattr(unet, a) for a in needed):
        raise IncompatibleModelError(
            f"BrushNet needs an SD1.5/SDXL-style UNet; this model's network is {type(unet).__name__}, "
            "which has no UNet input/output blocks (Flux, SD3 and other transformer models are not supported)"
        )
    mc, mult, nrb = int(unet.model_channels), [int(m) for m in unet.channel_mult], [int(n) for n in unet.num_res_blocks]
    levels = len(mult)
    if len(unet.input_blocks) != 1 + sum(nrb) + levels - 1 or len(unet.output_blocks) != sum(n + 1 for n in nrb):
        raise IncompatibleModelError(
            f"unexpected UNet layout: {len(unet.input_blocks)} input / {len(unet.output_blocks)} output blocks "
            f"for channel_mult {mult} and num_res_blocks {nrb}"
        )
    return mc, mult, nrb


def unet_feature_channels(mc: int, mult: list[int], nrb: list[int]) -> tuple[list[int], list[int]]:
    """Channels at every injection point of a UNet (down path, up path), in injection order."""
    down = [mc]
    for level, m in enumerate(mult):
        down += [mc * m] * nrb[level]
        if level < len(mult) - 1:
            down.append(mc * m)
    up: list[int] = []
    for level in reversed(range(len(mult))):
        up += [mc * mult[level]] * (nrb[level] + 1)
        if level > 0:
            up.append(mc * mult[level])
    return down, up


def make_plan(unet: nn.Module, down_channels: list[int], up_channels: list[int], describe: str = "BrushNet") -> InjectionPlan:
    """Plan the injection of a BrushNet with the given feature channels into ``unet``."""
    mc, mult, nrb = unet_structure(unet)
    unet_down, unet_up = unet_feature_channels(mc, mult, nrb)
    if list(down_channels) != unet_down or list(up_channels) != unet_up:
        raise IncompatibleModelError(
            f"{describe} does not fit this base model: the UNet has {len(mult)} levels with channels "
            f"{[mc * m for m in mult]}, the BrushNet's features have down channels {sorted(set(down_channels))} over "
            f"{len(down_channels)} points (UNet: {len(unet_down)}). Use an SD1.5 BrushNet with SD1.5 models "
            "and an SDXL BrushNet with SDXL models."
        )
    after: dict[int, int] = {}
    before_up: dict[int, int] = {}
    feature, j = 0, 0
    levels = len(mult)
    for rev_level, level in enumerate(reversed(range(levels))):
        for r in range(nrb[level] + 1):
            has_upsampler = r == nrb[level] and rev_level < levels - 1
            if has_upsampler:
                before_up[j] = feature
                feature += 1
            after[j] = feature
            feature += 1
            j += 1
    return InjectionPlan(len(unet.input_blocks), len(unet.output_blocks), tuple(down_channels), tuple(up_channels), after, before_up)


class FeatureSlot:
    """Holds the features of the model call in progress (``None`` when BrushNet is inactive).

    ``chunks``/``index`` describe reuse: the call's batch is ``chunks`` equal parts, and part ``c``
    uses computed part ``index[c]`` (e.g. SD1.5 cond and uncond share one computation).
    """

    def __init__(self) -> None:
        self.features: BrushNetFeatures | None = None
        self.chunks: int = 1
        self.index: list[int] = [0]
        #: this call's RAU-Net size changes (None: the UNet runs at its native sizes)
        self.fit: SizeFit | None = None

    def set(self, features: BrushNetFeatures, chunks: int, index: list[int]) -> None:
        self.features, self.chunks, self.index = features, chunks, index

    def clear(self) -> None:
        self.features, self.chunks, self.index, self.fit = None, 1, [0], None

    def add(self, h: torch.Tensor, feature: torch.Tensor, point: Point = ("", -1)) -> torch.Tensor:
        """``h + feature`` expanded to h's batch layout (no copy when all parts share one result).

        A feature of another spatial size than ``h`` is resized only where this call's :attr:`fit`
        expects exactly these two sizes at ``point``; otherwise a :class:`FeatureSizeError`.
        """
        if feature.shape[-2:] != h.shape[-2:]:
            feature = self._fitted(h, feature, point)
        if feature.shape[0] == h.shape[0] and self.index == list(range(self.chunks)):
            return h + feature
        if h.shape[0] % self.chunks:
            raise BrushNetRuntimeError(f"BrushNet: batch {h.shape[0]} is not {self.chunks} equal parts")
        if len(set(self.index)) == 1:
            part = feature.shape[0]
            return (h.unflatten(0, (self.chunks, part)) + feature.unsqueeze(0)).flatten(0, 1)
        # Parts gathered by slicing: indexing with the Python list would upload it (a sync on a GPU).
        parts = feature.unflatten(0, (max(self.index) + 1, -1))
        return h + torch.cat([parts[i] for i in self.index])

    def _fitted(self, h: torch.Tensor, feature: torch.Tensor, point: Point) -> torch.Tensor:
        want, have = tuple(h.shape[-2:]), tuple(feature.shape[-2:])
        if self.fit is not None and self.fit.expects(point, have, want):
            return resize_feature(feature, want)
        raise FeatureSizeError(
            f"BrushNet/PowerPaint: at {describe_point(point)} the UNet's features are {want[0]}x{want[1]} but the "
            f"branch's are {have[0]}x{have[1]}. Another patch on this model changes the UNet's feature sizes "
            "(Kohya Deep Shrink / PatchModelAddDownscale, a second RAUNet, ...); BrushNet and PowerPaint follow only "
            "the size changes of one RAUNet node. Remove that patch from the model that goes into BrushNet/PowerPaint."
        )


def describe_point(point: Point) -> str:
    kind, idx = point
    return {"down": f"input block {idx}", "mid": "the middle block", "up": f"up feature {idx}"}.get(
        kind, "an injection point")


def resize_feature(feature: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """A feature resized to the spatial ``size`` of the hidden state it goes into: bicubic.

    Bicubic (``align_corners=False``), in the feature's dtype, is what the earlier ComfyUI-BrushNet
    pack did when RAU-Net had changed a block's size (its patched layer forward), and what both packs
    do with ControlNet residuals. Neither BrushNet nor HiDiffusion defines a method (BrushNet was
    trained at native sizes only); area/average pooling, like XA's own pooling, was considered but has
    no better footing, so saved workflows of the earlier pack keep their results.
    """
    return F.interpolate(feature, size=(int(size[0]), int(size[1])), mode="bicubic")


def feature_sizes(plan: InjectionPlan, sizes: BlockSizes) -> dict[Point, Size]:
    """The spatial size of h at every injection point, given h's sizes at the UNet's blocks."""
    inputs, middle, outputs, after = sizes
    if len(inputs) != plan.num_input_blocks or len(outputs) != plan.num_output_blocks or len(after) != len(outputs):
        raise FeatureSizeError(f"block sizes for {len(inputs)} input / {len(outputs)} output blocks; the plan has "
                               f"{plan.num_input_blocks} / {plan.num_output_blocks}")
    out: dict[Point, Size] = {("down", i): tuple(s) for i, s in enumerate(inputs)}
    out[("mid", 0)] = tuple(middle)
    for j, k in plan.before_upsampler.items():
        out[("up", k)] = tuple(outputs[j])
    for j, k in plan.after_output_block.items():
        out[("up", k)] = tuple(after[j])
    return out


class SizeFit:
    """The injection points whose hidden state RAU-Net resized in one model call: (native, changed) sizes.

    Built per call from the block sizes RAU-Net gives without and with its parts on; only points
    whose size really changed are kept, so every other point still demands equal sizes.
    """

    def __init__(self, plan: InjectionPlan, native: BlockSizes, changed: BlockSizes) -> None:
        a, b = feature_sizes(plan, native), feature_sizes(plan, changed)
        self.changes: dict[Point, tuple[Size, Size]] = {p: (a[p], b[p]) for p in a if a[p] != b[p]}

    def expects(self, point: Point, feature: Size, hidden: Size) -> bool:
        return self.changes.get(point) == (tuple(feature), tuple(hidden))


#: attribute that marks this module's block patches (other patches order themselves after them)
BRANCH_PATCH_MARK = "brushedit_branch_add"


def _branch_patch(fn: Callable) -> Callable:
    setattr(fn, BRANCH_PATCH_MARK, True)
    return fn


def is_branch_patch(patch: Any) -> bool:
    """True for the block patches that add a branch's features (from any FeatureSlot)."""
    return getattr(patch, BRANCH_PATCH_MARK, False) is True


def input_block_patch(slot: FeatureSlot) -> Callable[..., torch.Tensor]:
    """Patch for ``input_block_patch``: add down feature ``id`` to input blocks 1.. (skip includes it)."""

    def add_down_feature(h: torch.Tensor, transformer_options: dict, **kwargs: Any) -> torch.Tensor:
        feats = slot.features
        kind, idx = transformer_options.get("block", ("", -1))
        if feats is None or kind != "input" or idx == 0 or idx >= len(feats.down):
            return h
        return slot.add(h, feats.down[idx], ("down", idx))

    return _branch_patch(add_down_feature)


def input_block_after_skip_patch(slot: FeatureSlot) -> Callable[..., torch.Tensor]:
    """Patch for ``input_block_patch_after_skip``: conv_in's feature flows on, its skip stays clean."""

    def add_conv_in_feature(h: torch.Tensor, transformer_options: dict, **kwargs: Any) -> torch.Tensor:
        feats = slot.features
        kind, idx = transformer_options.get("block", ("", -1))
        if feats is None or kind != "input" or idx != 0:
            return h
        return slot.add(h, feats.down[0], ("down", 0))

    return _branch_patch(add_conv_in_feature)


def output_block_patch(slot: FeatureSlot, plan: InjectionPlan) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """Patch for ``output_block_patch``: before block j, add the mid feature (j=0) or block j-1's."""

    def add_up_feature(h: torch.Tensor, hsp: torch.Tensor, transformer_options: dict, **kwargs: Any):
        feats = slot.features
        kind, idx = transformer_options.get("block", ("", -1))
        if feats is None or kind != "output":
            return h, hsp
        if idx == 0:
            return slot.add(h, feats.mid, ("mid", 0)), hsp
        feature = plan.after_output_block.get(idx - 1)
        if feature is None:
            return h, hsp
        return slot.add(h, feats.up[feature], ("up", feature)), hsp

    return _branch_patch(add_up_feature)


class _AddFeature(nn.Module):
    """A step inserted into an output block's iteration: adds up feature ``index`` from the slot."""

    def __init__(self, slot: FeatureSlot, index: int) -> None:
        super().__init__()
        self._slot, self._index = slot, index

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        feats = self._slot.features
        return x if feats is None else self._slot.add(x, feats.up[self._index], ("up", self._index))


class InjectingBlock(nn.Sequential):
    """An output block that yields its own layers plus feature adds at the places a patch can't reach.

    It registers the ORIGINAL child modules under their original names (same parameters, same
    state-dict keys, same per-module flags ComfyUI sets for low-VRAM loading); only iteration
    order gains the add steps: before a trailing upsampler and/or at the very end. ``owner`` (the
    slot) tells whose block it is, so several BrushNets can wrap the same block and leave it again.
    """

    def __init__(self, block: nn.Module, slot: FeatureSlot, before_last: int | None, at_end: int | None) -> None:
        super().__init__()
        for name, child in block.named_children():
            self.add_module(name, child)
        # Not registered as children: state-dict keys and module lists stay exactly the original's.
        object.__setattr__(self, "_inner", block)
        object.__setattr__(self, "owner", slot)
        object.__setattr__(self, "_before_last", _AddFeature(slot, before_last) if before_last is not None else None)
        object.__setattr__(self, "_at_end", _AddFeature(slot, at_end) if at_end is not None else None)

    def __iter__(self) -> Iterator[nn.Module]:
        layers = list(iter(self._inner))
        if self._before_last is not None:
            layers.insert(len(layers) - 1, self._before_last)
        if self._at_end is not None:
            layers.append(self._at_end)
        return iter(layers)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            return getattr(object.__getattribute__(self, "_inner"), name)


def injecting_blocks(plan: InjectionPlan, slot: FeatureSlot, current: Callable[[int], nn.Module]) -> dict[int, nn.Module]:
    """Output blocks to replace (by index) so adds inside them happen; ``current(j)`` is the block now."""
    patches: dict[int, nn.Module] = {}
    for j, feature in plan.before_upsampler.items():
        patches[j] = InjectingBlock(current(j), slot, before_last=feature, at_end=None)
    last = plan.last_output_block
    end_block = patches.get(last, current(last))
    patches[last] = InjectingBlock(end_block, slot, before_last=None, at_end=plan.after_output_block[last])
    return patches


def _owners(block: nn.Module) -> Iterator[FeatureSlot]:
    while isinstance(block, InjectingBlock):
        yield block.owner
        block = block._inner


def is_wrapped(output_blocks: nn.ModuleList, plan: InjectionPlan, slot: FeatureSlot) -> bool:
    """True when this UNet's output blocks already carry this slot's adds."""
    return any(owner is slot for owner in _owners(output_blocks[plan.last_output_block]))


def wrap_output_blocks(output_blocks: nn.ModuleList, plan: InjectionPlan, slot: FeatureSlot) -> None:
    """Wrap the planned output blocks of THIS model instance (idempotent)."""
    if is_wrapped(output_blocks, plan, slot):
        return
    for j, block in injecting_blocks(plan, slot, lambda i: output_blocks[i]).items():
        output_blocks[j] = block


def unwrap_output_blocks(output_blocks: nn.ModuleList, slot: FeatureSlot) -> None:
    """Remove this slot's wrappers wherever they sit in a chain; other BrushNets' stay in place."""
    for j in range(len(output_blocks)):
        outer: InjectingBlock | None = None
        block = output_blocks[j]
        while isinstance(block, InjectingBlock):
            inner = block._inner
            if block.owner is slot:
                if outer is None:
                    output_blocks[j] = inner
                else:
                    object.__setattr__(outer, "_inner", inner)
            else:
                outer = block
            block = inner
