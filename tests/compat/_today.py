"""Today's ComfyUI behaviour, emulated on the 0.3.75 test host (see shared spec comfy_today.md).

Each helper turns the real host into the newer contract for one test (through pytest's
``monkeypatch``, so everything is undone afterwards). They are written from the documented
behaviour of upstream ComfyUI, not copied from it.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest
import torch


def lazy_linear_ops(monkeypatch: pytest.MonkeyPatch) -> type:
    """Dynamic VRAM: ``disable_weight_init.Linear`` starts with weight/bias None; loading fills them."""
    import comfy.ops

    eager = comfy.ops.disable_weight_init.Linear

    class LazyLinear(eager):
        def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                     dtype: Any = None) -> None:
            torch.nn.Module.__init__(self)
            self.in_features, self.out_features = in_features, out_features
            self.weight = None
            self.bias = None
            self.wants_bias = bias

        def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                                  unexpected_keys, error_msgs) -> None:
            for key, value in state_dict.items():
                if not key.startswith(prefix):
                    continue
                name = key[len(prefix):]
                if name == "weight" or (name == "bias" and self.wants_bias):
                    setattr(self, name, torch.nn.Parameter(value, requires_grad=False))
                elif "." not in name:
                    unexpected_keys.append(key)
            if self.weight is None:
                missing_keys.append(prefix + "weight")
            if self.wants_bias and self.bias is None:
                missing_keys.append(prefix + "bias")

    monkeypatch.setattr(comfy.ops.disable_weight_init, "Linear", LazyLinear)
    forget_features()
    return LazyLinear


def three_value_embedding_lookup(monkeypatch: pytest.MonkeyPatch) -> None:
    """``_try_get_embedding`` returns (embed, name, leftover) and ``tokenize_with_weights`` unpacks three."""
    import comfy.sd1_clip as sd1

    old_lookup = sd1.SDTokenizer._try_get_embedding
    old_tokenize = sd1.SDTokenizer.tokenize_with_weights

    def lookup(self: Any, embedding_name: str) -> tuple:
        embed, leftover = old_lookup(self, embedding_name)
        words = embedding_name.split()
        return embed, (words[0] if words else ""), leftover

    def tokenize(self: Any, text: str, *args: Any, **kwargs: Any):
        current = self._try_get_embedding  # the instance's lookup (a pack may have replaced it)

        def unpack_three(name: str) -> tuple:
            embed, _name, leftover = current(name)  # what today's tokenizer body does
            return embed, leftover

        shim = copy.copy(self)
        shim._try_get_embedding = unpack_three
        return old_tokenize(shim, text, *args, **kwargs)

    monkeypatch.setattr(sd1.SDTokenizer, "_try_get_embedding", lookup)
    monkeypatch.setattr(sd1.SDTokenizer, "tokenize_with_weights", tokenize)
    forget_features()


def swap_model_at_sampling_start(monkeypatch: pytest.MonkeyPatch, fresh_model: Callable[[], Any],
                                 keep_injected_flag: bool = False) -> list:
    """The guider samples a clone whose model is a freshly loaded copy (hooks, compile, multi-GPU paths).

    As upstream's ``clone(model_override=...)`` does, the clone keeps the patches (LoRA), object
    patches, wrappers and injections of the patched model. ``keep_injected_flag`` also copies the
    parent's ``is_injected`` as upstream does, which makes the host skip injection on the copy.
    Returns the list of models that were actually sampled.
    """
    import comfy.samplers

    original = comfy.samplers.CFGGuider.outer_sample
    sampled: list = []

    def outer_sample(self: Any, *args: Any, **kwargs: Any):
        clone = self.model_patcher.clone()
        clone.model = fresh_model()
        clone.backup, clone.object_patches_backup = {}, {}
        if hasattr(clone, "backup_buffers"):
            clone.backup_buffers = {}
        clone.is_injected = True if keep_injected_flag else False
        self.model_patcher = clone
        sampled.append(clone.model)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(comfy.samplers.CFGGuider, "outer_sample", outer_sample)
    return sampled


def copy_transformer_options_per_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each diffusion-model call gets its own copy of transformer_options (writes never come back)."""
    from comfy.ldm.modules.diffusionmodules.openaimodel import UNetModel

    original = UNetModel.forward

    def forward(self: Any, x, timesteps=None, context=None, y=None, control=None, transformer_options={}, **kw):
        options = {k: (dict(v) if isinstance(v, dict) else v) for k, v in transformer_options.items()}
        return original(self, x, timesteps, context, y, control, options, **kw)

    monkeypatch.setattr(UNetModel, "forward", forward)


def mark_multigpu(patcher: Any) -> None:
    """What ComfyUI's MultiGPU nodes leave on a model: per-device clones under the 'multigpu' key."""
    patcher.set_additional_models("multigpu", [patcher.clone()])


def forget_features() -> None:
    """Drop the pack's cached host probe (a pack without one, e.g. an older commit, has nothing to drop)."""
    import _harness

    try:
        _harness.pack_module("nodes.compat").features.cache_clear()
    except ModuleNotFoundError:
        pass
