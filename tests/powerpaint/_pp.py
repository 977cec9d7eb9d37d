"""Shared helpers for PowerPaint tests: tiny models in the real key layouts, and an independent reference."""
from __future__ import annotations

import functools
import math
from pathlib import Path

import torch
import torch.nn.functional as F

from _reference import sinusoid
from demo.random_weights import randomize_

TINY_CLIP = {"hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2, "num_hidden_layers": 2,
             "projection_dim": 64}
#: model_options for comfy.sd.load_clip (its long-CLIP check rebuilds clip_l_model_config from "model_config")
TINY_CLIP_OPTIONS = {"model_config": TINY_CLIP}
TOKEN_VECTORS = 10  # vectors per task word in the release


def tiny_powerpaint_config():
    from brushnet_core.powerpaint.model import PowerPaintConfig

    return PowerPaintConfig(block_out_channels=(32, 64, 128, 128), cross_attention_dim=TINY_CLIP["hidden_size"])


def tiny_powerpaint(seed: int = 4):
    from brushnet_core.powerpaint.model import PowerPaintModel

    return randomize_(PowerPaintModel(tiny_powerpaint_config()), seed=seed).eval().requires_grad_(False)


def powerpaint_patcher(seed: int = 4):
    import comfy.model_management as mm
    import comfy.model_patcher

    from injection._setup import as_pack_model

    return comfy.model_patcher.ModelPatcher(as_pack_model(tiny_powerpaint(seed)), load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def tiny_clip_state_dict(seed: int) -> dict[str, torch.Tensor]:
    """A CLIP-L-layout text encoder (HF key names) with a tiny width/depth, random weights."""
    import comfy.sd1_clip

    clip = comfy.sd1_clip.SDClipModel(device="cpu", dtype=torch.float32, model_options={"clip_l_model_config": dict(TINY_CLIP)})
    randomize_(clip.transformer, seed=seed, gain=0.5)
    return {k: v.contiguous() for k, v in clip.transformer.state_dict().items() if k.startswith("text_model.")}


def task_vectors(seed: int, width: int = TINY_CLIP["hidden_size"]) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {w: torch.randn(TOKEN_VECTORS, width, generator=g) * 0.5 for w in ("P_ctxt", "P_shape", "P_obj")}


def powerpaint_text_encoder_sd(seed: int, vectors: dict[str, torch.Tensor], with_weights: bool = True) -> dict:
    """The released pytorch_model.bin layout: text encoder in the embedding-wrapper names + task vectors."""
    prefix = "text_model.embeddings.token_embedding."
    sd = {}
    if with_weights:
        for k, v in tiny_clip_state_dict(seed).items():
            sd[k.replace(prefix + "weight", prefix + "wrapped.weight")] = v
    for word, vec in vectors.items():
        sd[f"{prefix}trainable_embeddings.{word}"] = vec.clone()
    return sd


@functools.lru_cache(maxsize=1)
def tiny_clip_files(root: str) -> tuple[Path, Path, dict]:
    """(base CLIP file, PowerPaint text-encoder .bin, task vectors), written once per session."""
    import safetensors.torch

    base = Path(root) / "text_encoders" / "tiny_clip_l.safetensors"
    pp = Path(root) / "inpaint" / "powerpaint" / "pytorch_model.bin"
    base.parent.mkdir(parents=True, exist_ok=True)
    pp.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file(tiny_clip_state_dict(seed=31), str(base))
    vectors = task_vectors(seed=32)
    torch.save(powerpaint_text_encoder_sd(33, vectors), str(pp))
    return base, pp, vectors


def tiny_clip_options() -> dict:
    return {"model_config": dict(TINY_CLIP)}


def tiny_powerpaint_clip(models_dir):
    """A PowerPaint CLIP (tiny CLIP-L) made by the pack's loader function (one per session; never mutated)."""
    return _tiny_powerpaint_clip(str(models_dir))


@functools.lru_cache(maxsize=1)
def _tiny_powerpaint_clip(models_dir: str):
    import _harness

    base, pp, _ = tiny_clip_files(str(models_dir))
    mod = _harness.pack_module("nodes.powerpaint")
    return mod.load_powerpaint_clip(str(base), str(pp), model_options=tiny_clip_options())


def encode_with_vectors(clip, vectors: torch.Tensor | None) -> torch.Tensor:
    """Context of BOS + the given vectors + EOS padding, fed as tensor tokens (bypasses task-word parsing)."""
    body = [] if vectors is None else [(v, 1.0) for v in vectors]
    row = [(49406, 1.0)] + body + [(49407, 1.0)] * (77 - 1 - len(body))
    return clip.encode_from_tokens({"l": [row]}).float()


# ---------------------------------------------------------------- independent reference of the branch
def reference_powerpaint(sd: dict, sample, t, cond, context, scale: float = 1.0, heads: int = 8, groups: int = 32):
    """(down, mid, up) of the official PowerPaint BrushNet, from its diffusers state dict (torch.nn.functional)."""
    def conv(name, x, stride=1, pad=1):
        return F.conv2d(x, sd[name + ".weight"], sd[name + ".bias"], stride=stride, padding=pad)

    def lin(name, x, bias=True):
        return F.linear(x, sd[name + ".weight"], sd[name + ".bias"] if bias else None)

    def resnet(p, x, temb):
        h = conv(p + ".conv1", F.silu(F.group_norm(x, groups, sd[p + ".norm1.weight"], sd[p + ".norm1.bias"], 1e-5)))
        h = h + lin(p + ".time_emb_proj", F.silu(temb))[:, :, None, None]
        h = conv(p + ".conv2", F.silu(F.group_norm(h, groups, sd[p + ".norm2.weight"], sd[p + ".norm2.bias"], 1e-5)))
        return (conv(p + ".conv_shortcut", x, pad=0) if p + ".conv_shortcut.weight" in sd else x) + h

    def attention(p, x, ctx):
        q, k, v = lin(p + ".to_q", x, False), lin(p + ".to_k", ctx, False), lin(p + ".to_v", ctx, False)
        b, n, d = q.shape
        q, k, v = (z.reshape(b, -1, heads, d // heads).permute(0, 2, 1, 3) for z in (q, k, v))
        weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // heads), dim=-1)
        return lin(p + ".to_out.0", (weights @ v).permute(0, 2, 1, 3).reshape(b, n, d))

    def layer_norm(p, x):
        return F.layer_norm(x, x.shape[-1:], sd[p + ".weight"], sd[p + ".bias"], 1e-5)

    def transformer(p, x, ctx):
        b, c, hh, ww = x.shape
        h = F.group_norm(x, groups, sd[p + ".norm.weight"], sd[p + ".norm.bias"], 1e-6)
        h = conv(p + ".proj_in", h, pad=0).flatten(2).transpose(1, 2)
        tb = p + ".transformer_blocks.0"
        h = attention(tb + ".attn1", layer_norm(tb + ".norm1", h), layer_norm(tb + ".norm1", h)) + h
        h = attention(tb + ".attn2", layer_norm(tb + ".norm2", h), ctx) + h
        a, gate = lin(tb + ".ff.net.0.proj", layer_norm(tb + ".norm3", h)).chunk(2, dim=-1)
        h = lin(tb + ".ff.net.2", a * F.gelu(gate)) + h
        return conv(p + ".proj_out", h.transpose(1, 2).reshape(b, c, hh, ww), pad=0) + x

    def maybe_attn(p, x, ctx):
        return transformer(p, x, ctx) if p + ".proj_in.weight" in sd else x

    levels = len({k.split(".")[1] for k in sd if k.startswith("down_blocks.")})
    c0 = sd["conv_in_condition.weight"].shape[0]
    emb = lin("time_embedding.linear_2", F.silu(lin("time_embedding.linear_1", sinusoid(t, c0))))
    x = conv("conv_in_condition", torch.cat([sample, cond], 1))
    res = [x]
    for i in range(levels):
        for j in range(2):
            x = maybe_attn(f"down_blocks.{i}.attentions.{j}", resnet(f"down_blocks.{i}.resnets.{j}", x, emb), context)
            res.append(x)
        if i < levels - 1:
            x = conv(f"down_blocks.{i}.downsamplers.0.conv", x, stride=2)
            res.append(x)
    down = [conv(f"brushnet_down_blocks.{k}", r, pad=0) * scale for k, r in enumerate(res)]
    x = resnet("mid_block.resnets.0", x, emb)
    x = transformer("mid_block.attentions.0", x, context)
    x = resnet("mid_block.resnets.1", x, emb)
    mid = conv("brushnet_mid_block", x, pad=0) * scale
    raw = []
    for i in range(levels):
        for j in range(3):
            x = resnet(f"up_blocks.{i}.resnets.{j}", torch.cat([x, res.pop()], 1), emb)
            x = maybe_attn(f"up_blocks.{i}.attentions.{j}", x, context)
            raw.append(x)
        if i < levels - 1:
            x = conv(f"up_blocks.{i}.upsamplers.0.conv", F.interpolate(x, size=res[-1].shape[-2:], mode="nearest"))
            raw.append(x)
    up = [conv(f"brushnet_up_blocks.{k}", r, pad=0) * scale for k, r in enumerate(raw)]
    return down, mid, up
