"""segment-anything's image encoder and prompt encoder + mask decoder in float64, written from the
definitions in segment-anything (``modeling/image_encoder.py``, ``prompt_encoder.py``,
``mask_decoder.py``, ``transformer.py``, ``common.py``) for tests; reads an ORIGINAL-layout state dict."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def _w(sd, key):
    return sd[key].double()


def _ln(x, sd, prefix, eps):
    return F.layer_norm(x, x.shape[-1:], _w(sd, prefix + ".weight"), _w(sd, prefix + ".bias"), eps)


def _ln2d(x, sd, prefix, eps=1e-6):  # segment-anything LayerNorm2d: over channels of NCHW
    u = x.mean(1, keepdim=True)
    s = (x - u).pow(2).mean(1, keepdim=True)
    weight, bias = _w(sd, prefix + ".weight")[:, None, None], _w(sd, prefix + ".bias")[:, None, None]
    return weight * ((x - u) / torch.sqrt(s + eps)) + bias


def _lin(x, sd, prefix):
    return F.linear(x, _w(sd, prefix + ".weight"), _w(sd, prefix + ".bias"))


def _rel_table(size_q, size_k, table):
    coords = torch.arange(size_q)[:, None] - torch.arange(size_k)[None, :] + (size_k - 1)
    assert table.shape[0] == 2 * max(size_q, size_k) - 1
    return table[coords]


def ref_vit_attention(x, sd, prefix, heads):
    """Image-encoder attention with decomposed relative positions (MViTv2 / segment-anything)."""
    b, h, w, c = x.shape
    d = c // heads
    qkv = _lin(x, sd, prefix + ".qkv").reshape(b, h * w, 3, heads, d).permute(2, 0, 3, 1, 4)
    qkv = qkv.reshape(3, b * heads, h * w, d)
    q, k, v = qkv[0], qkv[1], qkv[2]
    scores = (q * d ** -0.5) @ k.transpose(-2, -1)
    rq = q.reshape(b * heads, h, w, d)
    rel_h = torch.einsum("bhwc,hkc->bhwk", rq, _rel_table(h, h, _w(sd, prefix + ".rel_pos_h")))
    rel_w = torch.einsum("bhwc,wkc->bhwk", rq, _rel_table(w, w, _w(sd, prefix + ".rel_pos_w")))
    scores = scores.view(b * heads, h, w, h, w) + rel_h[..., :, None] + rel_w[..., None, :]
    scores = scores.view(b * heads, h * w, h * w)
    out = (scores.softmax(-1) @ v).view(b, heads, h, w, d).permute(0, 2, 3, 1, 4).reshape(b, h, w, c)
    return _lin(out, sd, prefix + ".proj")


def ref_vit(sd, pixels, heads, window, global_idx):
    """segment-anything ImageEncoderViT forward in float64."""
    patch = sd["image_encoder.patch_embed.proj.weight"]
    x = F.conv2d(pixels.double(), patch.double(), _w(sd, "image_encoder.patch_embed.proj.bias"), stride=patch.shape[-1])
    x = x.permute(0, 2, 3, 1) + _w(sd, "image_encoder.pos_embed")
    depth = len({k.split(".")[2] for k in sd if k.startswith("image_encoder.blocks.")})
    for i in range(depth):
        p = f"image_encoder.blocks.{i}"
        shortcut = x
        x = _ln(x, sd, p + ".norm1", 1e-6)
        b, h, w, c = x.shape
        ws = 0 if i in global_idx else window
        if ws:
            ph, pw = (ws - h % ws) % ws, (ws - w % ws) % ws
            x = F.pad(x, (0, 0, 0, pw, 0, ph))
            hp, wp = h + ph, w + pw
            x = x.view(b, hp // ws, ws, wp // ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, ws, ws, c)
        x = ref_vit_attention(x, sd, p + ".attn", heads)
        if ws:
            x = x.view(b, hp // ws, wp // ws, ws, ws, c).permute(0, 1, 3, 2, 4, 5).reshape(b, hp, wp, c)[:, :h, :w]
        x = shortcut + x
        x = x + _lin(F.gelu(_lin(_ln(x, sd, p + ".norm2", 1e-6), sd, p + ".mlp.lin1")), sd, p + ".mlp.lin2")
    x = F.conv2d(x.permute(0, 3, 1, 2), _w(sd, "image_encoder.neck.0.weight"))
    x = _ln2d(x, sd, "image_encoder.neck.1")
    x = F.conv2d(x, _w(sd, "image_encoder.neck.2.weight"), padding=1)
    return _ln2d(x, sd, "image_encoder.neck.3")


def _pe(sd, coords01):
    g = _w(sd, "prompt_encoder.pe_layer.positional_encoding_gaussian_matrix")
    x = 2 * math.pi * ((2 * coords01 - 1) @ g)
    return torch.cat([torch.sin(x), torch.cos(x)], dim=-1)


def _attention(q, k, v, sd, prefix, heads):
    q, k, v = _lin(q, sd, prefix + ".q_proj"), _lin(k, sd, prefix + ".k_proj"), _lin(v, sd, prefix + ".v_proj")
    n, t, c = q.shape
    split = lambda x: x.reshape(x.shape[0], x.shape[1], heads, c // heads).transpose(1, 2)  # noqa: E731
    q, k, v = split(q), split(k), split(v)
    attn = ((q @ k.transpose(-2, -1)) / math.sqrt(c // heads)).softmax(-1)
    return _lin((attn @ v).transpose(1, 2).reshape(n, t, c), sd, prefix + ".out_proj")


def _mlp(x, sd, prefix, depth):
    for i in range(depth):
        x = _lin(x, sd, f"{prefix}.layers.{i}")
        x = F.relu(x) if i < depth - 1 else x
    return x


def ref_sam_decoder(sd, image_embeddings, boxes, image_size, eps):
    """segment-anything PromptEncoder (boxes) + MaskDecoder (multimask_output=False) in float64.
    ``boxes``: (N, 4) xyxy in the 1024 (here ``image_size``) input frame. Returns (low-res masks, iou)."""
    emb = image_embeddings.double()
    c, gh, gw = emb.shape[1:]
    n = boxes.shape[0]
    corners = _pe(sd, ((boxes.double() + 0.5).reshape(n, 2, 2)) / image_size)
    corners[:, 0] += _w(sd, "prompt_encoder.point_embeddings.2.weight")[0]
    corners[:, 1] += _w(sd, "prompt_encoder.point_embeddings.3.weight")[0]
    dense = _w(sd, "prompt_encoder.no_mask_embed.weight").reshape(1, -1, 1, 1)
    ys, xs = torch.meshgrid(torch.arange(gh, dtype=torch.float64), torch.arange(gw, dtype=torch.float64), indexing="ij")
    image_pe = _pe(sd, torch.stack([(xs + 0.5) / gw, (ys + 0.5) / gh], dim=-1)).permute(2, 0, 1)
    output_tokens = torch.cat([_w(sd, "mask_decoder.iou_token.weight"), _w(sd, "mask_decoder.mask_tokens.weight")])
    n_masks = output_tokens.shape[0] - 1
    tokens = torch.cat([output_tokens[None].expand(n, -1, -1), corners], dim=1)
    src = (emb + dense).expand(n, -1, -1, -1).flatten(2).transpose(1, 2)
    pos = image_pe[None].expand(n, -1, -1, -1).flatten(2).transpose(1, 2)
    queries, keys = tokens, src
    t = "mask_decoder.transformer"
    depth = len({k.split(".")[3] for k in sd if k.startswith(t + ".layers.")})
    for i in range(depth):
        p = f"{t}.layers.{i}"
        if i == 0:  # skip_first_layer_pe: no positional term and no residual
            queries = _attention(queries, queries, queries, sd, p + ".self_attn", 8)
        else:
            q = queries + tokens
            queries = queries + _attention(q, q, queries, sd, p + ".self_attn", 8)
        queries = _ln(queries, sd, p + ".norm1", eps)
        queries = queries + _attention(queries + tokens, keys + pos, keys, sd, p + ".cross_attn_token_to_image", 8)
        queries = _ln(queries, sd, p + ".norm2", eps)
        queries = queries + _lin(F.relu(_lin(queries, sd, p + ".mlp.lin1")), sd, p + ".mlp.lin2")
        queries = _ln(queries, sd, p + ".norm3", eps)
        keys = keys + _attention(keys + pos, queries + tokens, queries, sd, p + ".cross_attn_image_to_token", 8)
        keys = _ln(keys, sd, p + ".norm4", eps)
    queries = queries + _attention(queries + tokens, keys + pos, keys, sd, t + ".final_attn_token_to_image", 8)
    queries = _ln(queries, sd, t + ".norm_final_attn", eps)
    up = F.conv_transpose2d(keys.transpose(1, 2).reshape(n, c, gh, gw),
                            _w(sd, "mask_decoder.output_upscaling.0.weight"),
                            _w(sd, "mask_decoder.output_upscaling.0.bias"), stride=2)
    up = F.gelu(_ln2d(up, sd, "mask_decoder.output_upscaling.1"))
    up = F.gelu(F.conv_transpose2d(up, _w(sd, "mask_decoder.output_upscaling.3.weight"),
                                   _w(sd, "mask_decoder.output_upscaling.3.bias"), stride=2))
    hyper = torch.stack([_mlp(queries[:, 1 + j], sd, f"mask_decoder.output_hypernetworks_mlps.{j}", 3)
                         for j in range(n_masks)], dim=1)
    masks = (hyper @ up.flatten(2)).reshape(n, n_masks, *up.shape[-2:])
    iou = _mlp(queries[:, 0], sd, "mask_decoder.iou_prediction_head", 3)
    return masks[:, :1], iou[:, :1]
