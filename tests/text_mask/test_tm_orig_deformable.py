"""GroundingDINO's multi-scale deformable attention: the pack's leaner CPU core against the Deformable
DETR definition (float64, explicit bilinear corners) and against transformers' core (issue 17, item 4)."""
from __future__ import annotations

import pytest
import torch

from tm_ref import rel

pytestmark = pytest.mark.core  # pure core: runs without booting ComfyUI


def ref_deformable(value, shapes, locations, weights):
    """Multi-scale deformable attention (Deformable DETR): for each query, head, level and point,
    bilinear samples of the level's value map at ``location * (W, H) - 0.5`` (pixel centres; outside
    samples are 0), weighted and summed. float64, explicit corner arithmetic (no grid_sample)."""
    b, _, heads, dim = value.shape
    _, nq, _, levels, points, _ = locations.shape
    out = torch.zeros(b, nq, heads, dim, dtype=torch.float64)
    start = 0
    for lvl, (h, w) in enumerate(shapes):
        vmap = value[:, start:start + h * w].double().reshape(b, h, w, heads, dim)
        start += h * w
        px = locations[:, :, :, lvl, :, 0].double() * w - 0.5
        py = locations[:, :, :, lvl, :, 1].double() * h - 0.5
        x0, y0 = px.floor(), py.floor()
        for dx, dy in ((0, 0), (1, 0), (0, 1), (1, 1)):
            xi, yi = x0 + dx, y0 + dy
            wgt = (1 - (px - xi).abs()) * (1 - (py - yi).abs())
            inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
            xc, yc = xi.clamp(0, w - 1).long(), yi.clamp(0, h - 1).long()
            for bi in range(b):
                for hd in range(heads):
                    v = vmap[bi, yc[bi, :, hd], xc[bi, :, hd], hd]  # (nq, points, dim)
                    k = (wgt[bi, :, hd] * inside[bi, :, hd] * weights[bi, :, hd, lvl].double())[..., None]
                    out[bi, :, hd] += (v * k).sum(1)
    return out.reshape(b, nq, heads * dim)


def test_fast_deformable_core_matches_the_definition_and_transformers():
    from transformers.models.grounding_dino.modeling_grounding_dino import MultiScaleDeformableAttention

    from brushnet_core.text_mask.deformable import deformable_forward, fast_deformable_attention

    g = torch.Generator().manual_seed(6)
    shapes = [(5, 6), (3, 3), (2, 1)]
    value = torch.randn((2, sum(h * w for h, w in shapes), 3, 4), generator=g)
    loc = torch.rand((2, 7, 3, 3, 2, 2), generator=g) * 1.2 - 0.1  # some samples fall outside the map
    wts = torch.softmax(torch.randn((2, 7, 3, 6), generator=g), -1).view(2, 7, 3, 3, 2)
    ss = torch.tensor(shapes)
    lsi = torch.cat([torch.zeros(1, dtype=torch.long), ss.prod(1).cumsum(0)[:-1]])
    core = MultiScaleDeformableAttention()
    want = ref_deformable(value, shapes, loc, wts)
    theirs = core(value, ss, shapes, lsi, loc, wts, 64)
    with fast_deformable_attention(core) as switched:
        ours = core(value, ss, shapes, lsi, loc, wts, 64)
    assert switched == 1 and "forward" not in vars(core)
    assert rel(theirs, want) < 1e-6 and rel(ours, want) < 1e-6 and rel(ours, theirs) < 1e-6
    assert torch.equal(ours, deformable_forward(core, value, ss, shapes, lsi, loc, wts, 64))


def test_grounding_dino_outputs_with_the_fast_deformable_core(file_gdino):
    from brushnet_core.text_mask.deformable import fast_deformable_attention

    ids = torch.tensor([[101, 1013, 1012, 1014, 1015, 1012, 102]])
    pixels = torch.rand((1, 3, 96, 128), generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        plain = file_gdino(pixel_values=pixels, input_ids=ids)
        with fast_deformable_attention(file_gdino) as switched:
            fast = file_gdino(pixel_values=pixels, input_ids=ids)
    assert switched == file_gdino.config.encoder_layers + file_gdino.config.decoder_layers
    finite = plain.logits.isfinite()
    assert torch.equal(finite, fast.logits.isfinite())
    assert rel(fast.logits[finite], plain.logits[finite]) < 1e-5 and rel(fast.pred_boxes, plain.pred_boxes) < 1e-5
