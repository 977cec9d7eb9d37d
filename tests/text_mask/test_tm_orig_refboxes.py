"""GroundingDINO's reference-box refinement against the ORIGINAL's (issue 17, item 2, last point).

Deformable-DETR refinement as GroundingDINO does it (``models/GroundingDINO/transformer.py`` and
``groundingdino.py``): ``ref_{l+1} = sigmoid(bbox_embed_l(out_l) + inverse_sigmoid(ref_l))`` in the
decoder, ``boxes = sigmoid(bbox_embed_l(norm(out_l)) + inverse_sigmoid(ref_l))`` in the head, with
``util/misc.py``'s ``inverse_sigmoid`` (eps 1e-3), written out below. transformers uses
``logit(x, eps=1e-5)``; the two differ when boxes fill the frame, which the tests provoke.

The pack's :func:`reference_eps` must get there with hooks on the one model instance for the length of
the call: nothing left on the model afterwards, no transformers module touched, whatever ran before.
"""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import tm_tiny
from brushnet_core.text_mask.original import inverse_sigmoid, reference_eps

IDS = torch.tensor([[101, 1013, 1012, 1014, 1015, 1012, 102]])


def ref_inverse_sigmoid(x: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    """GroundingDINO ``util/misc.py``: x clamped to [0, 1], then log(max(x, eps) / max(1 - x, eps))."""
    x = x.clamp(min=0, max=1)
    x1, x2 = x.clamp(min=eps), (1 - x).clamp(min=eps)
    return torch.log(x1 / x2)


def ref_mlp(x: torch.Tensor, mlp: torch.nn.Module) -> torch.Tensor:
    """The box head: linear layers with ReLU between them."""
    layers = list(mlp.layers)
    for i, layer in enumerate(layers):
        x = F.linear(x, layer.weight, layer.bias)
        x = F.relu(x) if i < len(layers) - 1 else x
    return x


def saturated_gdino(share: bool) -> torch.nn.Module:
    """A tiny GroundingDINO whose encoder proposals have huge width/height: reference boxes saturate at 1."""
    model = tm_tiny.tiny_gdino(seed=3, decoder_bbox_embed_share=share)
    with torch.no_grad():
        model.model.encoder_output_bbox_embed.layers[-1].bias[2:] += 9.0
    return model


def run(model: torch.nn.Module, pixels: torch.Tensor):
    with torch.no_grad():
        return model(pixel_values=pixels, input_ids=IDS, attention_mask=torch.ones_like(IDS),
                     token_type_ids=torch.zeros_like(IDS))


def footprint(model: torch.nn.Module) -> dict:
    """Every hook and every instance attribute of every submodule (what a call must leave as it found)."""
    return {name: (list(m._forward_hooks), list(m._forward_pre_hooks), list(m._forward_hooks_with_kwargs),
                   list(m._forward_pre_hooks_with_kwargs), sorted(vars(m)))
            for name, m in model.named_modules()}


def assert_module_untouched() -> None:
    from transformers.models.grounding_dino import modeling_grounding_dino

    assert modeling_grounding_dino.torch is torch
    assert modeling_grounding_dino.torch.special.logit is torch.special.logit


@pytest.mark.parametrize("share", [True, False], ids=["shared heads", "one head per layer"])
def test_reference_box_refinement_uses_the_originals_inverse_sigmoid(share):
    model = saturated_gdino(share)
    raw = []
    hooks = [layer.register_forward_hook(lambda _m, _a, out: raw.append(out[0]))
             for layer in model.model.decoder.layers]
    pixels = torch.rand((1, 3, 96, 128), generator=torch.Generator().manual_seed(5))
    before = footprint(model)
    runs = {}
    for name, eps in (("original", 1e-3), ("transformers", None)):
        raw.clear()
        with reference_eps(model, eps):
            runs[name] = (run(model, pixels), list(raw))
        assert footprint(model) == before  # no hook or attribute left behind
        assert_module_untouched()
    for h in hooks:
        h.remove()
    out, hidden = runs["original"]
    ref = out.init_reference_points
    assert (ref > 1 - 1e-3).any()
    refs = [ref]
    with torch.no_grad():
        for layer, h in enumerate(hidden):
            refs.append(torch.sigmoid(ref_mlp(h, model.bbox_embed[layer]) + ref_inverse_sigmoid(refs[-1])))
            assert torch.allclose(out.intermediate_reference_points[:, layer], refs[-1], rtol=0, atol=1e-6)
        last = len(hidden) - 1
        boxes = torch.sigmoid(ref_mlp(out.intermediate_hidden_states[:, last], model.bbox_embed[last])
                              + ref_inverse_sigmoid(refs[last]))
    assert torch.allclose(out.pred_boxes, boxes, rtol=0, atol=1e-6)
    plain = runs["transformers"][0]
    moved = (plain.intermediate_reference_points - out.intermediate_reference_points).abs().max()
    assert moved > 1e-4  # transformers' logit(x, 1e-5) gives other boxes here
    assert torch.equal(plain.pred_boxes, run(model, pixels).pred_boxes)  # eps None = no hooks at all


def test_hooks_are_removed_when_the_call_fails():
    model = saturated_gdino(True)
    pixels = torch.rand((1, 3, 96, 128), generator=torch.Generator().manual_seed(7))

    def cancel(*_):
        raise KeyboardInterrupt("cancelled")

    handle = model.model.decoder.layers[-1].register_forward_pre_hook(cancel)
    before = footprint(model)
    with pytest.raises(KeyboardInterrupt), reference_eps(model, 1e-3):
        run(model, pixels)
    assert footprint(model) == before
    handle.remove()
    assert_module_untouched()


def test_other_models_are_left_alone(caplog):
    model = torch.nn.Sequential(torch.nn.Linear(2, 2))
    before = footprint(model)
    with reference_eps(model, 1e-3):
        model(torch.zeros(1, 2))
    assert footprint(model) == before and "not transformers' GroundingDINO" in caplog.text


def test_inverse_sigmoid_is_the_originals_formula():
    x = torch.tensor([-0.5, 0.0, 1e-4, 0.3, 0.9995, 1.0, 1.5])
    want = torch.tensor([math.log(1e-3 / 1), math.log(1e-3 / 1), math.log(1e-3 / (1 - 1e-4)), math.log(0.3 / 0.7),
                         math.log(0.9995 / 1e-3), math.log(1 / 1e-3), math.log(1 / 1e-3)])
    assert torch.allclose(inverse_sigmoid(x, 1e-3), want, atol=1e-5)
    assert torch.allclose(ref_inverse_sigmoid(x), want, atol=1e-5)
