"""The same original checkpoint files load, and give the same outputs, on transformers 4.x and 5.x.

The golden record (golden_tm.json) was made on the pinned test host (transformers 4.57.6,
regenerate with ``python tm_tiny.py`` there); run these tests with a transformers 5 environment
too (e.g. a venv with ``pip install transformers`` and the host's requirements, then
``cd tests && <venv>/bin/python -m pytest -c pytest.ini --rootdir . text_mask``). The files
are built independently of the installed transformers (see ``tm_tiny.reseed``), so a difference
here is the pack's loaders or transformers itself, never the fixture.
"""
from __future__ import annotations

import contextlib
import json

import pytest
import torch
from torch import nn

import tm_tiny
from tm_tiny import DOGS_THE_RED_CAT
from brushnet_core.text_mask import loading


@pytest.fixture(scope="module")
def golden() -> dict:
    with open(tm_tiny.GOLDEN, encoding="utf-8") as fh:
        return json.load(fh)


def _close(got, want, what: str) -> None:
    got, want = torch.tensor(got), torch.tensor(want)
    assert got.shape == want.shape, what
    err = (got - want).abs().max().item()
    assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), f"{what} differs from the recorded output by {err:.2e}"


def test_original_files_are_the_same_on_every_transformers(golden):
    assert tm_tiny.layout_signature(tm_tiny.original_gdino_file()["model"]) == golden["gdino_layout"]
    assert tm_tiny.layout_signature(tm_tiny.original_sam_file()) == golden["sam_layout"]


def test_original_grounding_dino_file_gives_the_recorded_outputs(golden, tmp_path):
    torch.save(tm_tiny.original_gdino_file(), tmp_path / "groundingdino_swint_ogc.pth")
    tm_tiny.write_vocab(str(tmp_path))
    bundle = loading.load_grounding_dino(str(tmp_path / "groundingdino_swint_ogc.pth"))
    out = tm_tiny.gdino_outputs(bundle.model)
    _close(out["boxes"], golden["gdino"]["boxes"], "pred_boxes")
    _close(out["logits"], golden["gdino"]["logits"], "logits")


def test_original_sam_file_gives_the_recorded_outputs(golden, tmp_path):
    torch.save(tm_tiny.original_sam_file(), tmp_path / "sam_vit_b_01ec64.pth")
    out = tm_tiny.sam_outputs(loading.load_sam(str(tmp_path / "sam_vit_b_01ec64.pth")).model)
    _close(out["iou"], golden["sam"]["iou"], "iou_scores")
    _close(out["masks"], golden["sam"]["masks"], "pred_masks")


def test_hugging_face_folders_in_the_published_layout_give_the_recorded_outputs(golden, tmp_path):
    dino_dir, sam_dir = tm_tiny.write_hf_folders(str(tmp_path))
    dino = loading.load_grounding_dino(dino_dir)
    assert dino.tokenizer.encode("Dogs, the red CAT?", add_special_tokens=False) == DOGS_THE_RED_CAT
    out = tm_tiny.gdino_outputs(dino.model)
    _close(out["boxes"], golden["gdino"]["boxes"], "pred_boxes (HF folder)")
    _close(out["logits"], golden["gdino"]["logits"], "logits (HF folder)")
    out = tm_tiny.sam_outputs(loading.load_sam(sam_dir).model)
    _close(out["iou"], golden["sam"]["iou"], "iou_scores (HF folder)")
    _close(out["masks"], golden["sam"]["masks"], "pred_masks (HF folder)")


@pytest.mark.parametrize("style", ["preprocessor_config.json", "processor_config.json"])
def test_image_settings_are_read_from_either_processor_file(tmp_path, style):
    """Published folders (and transformers 4 saves) have preprocessor_config.json; transformers 5's
    save_pretrained writes the same settings nested in processor_config.json instead."""
    dino_dir, sam_dir = tm_tiny.write_hf_folders(str(tmp_path))
    settings = {"dino": {"size": {"shortest_edge": 640, "longest_edge": 1000}},
                "sam": {"image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.25, 0.25], "size": {"longest_edge": 256}}}
    for folder, cfg in ((dino_dir, settings["dino"]), (sam_dir, settings["sam"])):
        data = cfg if style == "preprocessor_config.json" else {"image_processor": cfg, "processor_class": "X"}
        with open(f"{folder}/{style}", "w", encoding="utf-8") as fh:
            json.dump(data, fh)
    dino, sam = loading.load_grounding_dino(dino_dir), loading.load_sam(sam_dir)
    assert (dino.short_side, dino.max_side) == (640, 1000)
    assert (sam.mean, sam.std, sam.image_size) == ((0.5, 0.5, 0.5), (0.25, 0.25, 0.25), 256)


def test_no_init_context_is_found_by_feature():
    # transformers 4 keeps it in modeling_utils, 5 in initialization; both must be found
    assert loading._no_init_weights() is not contextlib.nullcontext


def test_without_a_no_init_context_the_file_still_loads_the_same(golden, tmp_path, monkeypatch):
    real_import = loading.importlib.import_module

    def no_such_helper(name, *a, **k):
        if name in ("transformers.initialization", "transformers.modeling_utils"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(loading.importlib, "import_module", no_such_helper)
    assert loading._no_init_weights() is contextlib.nullcontext
    torch.save(tm_tiny.original_sam_file(), tmp_path / "sam.pth")
    out = tm_tiny.sam_outputs(loading.load_sam(str(tmp_path / "sam.pth")).model)
    _close(out["iou"], golden["sam"]["iou"], "iou_scores")


class _WithOptional(nn.Module):
    """Stands in for transformers 5's Swin backbone: a norm it declares optional and never uses."""

    _keys_to_ignore_on_load_missing = [r"^swin\.layernorm\."]

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(3, 3)
        self.swin = nn.Module()
        self.swin.layernorm = nn.LayerNorm(3)


def test_weights_the_model_declares_optional_may_be_absent_and_get_a_defined_value():
    host = nn.Module()
    host.backbone = _WithOptional()
    with torch.no_grad():
        host.backbone.swin.layernorm.weight.fill_(float("nan"))  # what an uninitialised tensor may hold
    sd = {"backbone.proj.weight": torch.ones(3, 3), "backbone.proj.bias": torch.zeros(3)}
    loading._load_checked(host, sd, "test")
    assert torch.equal(host.backbone.swin.layernorm.weight, torch.ones(3))
    assert torch.equal(host.backbone.proj.weight, torch.ones(3, 3))


def test_other_missing_weights_are_still_an_unknown_variant():
    host = nn.Module()
    host.backbone = _WithOptional()
    with pytest.raises(ValueError, match=r"Unknown test variant: 1 weights are missing.*proj\.bias"):
        loading._load_checked(host, {"backbone.proj.weight": torch.ones(3, 3)}, "test")
