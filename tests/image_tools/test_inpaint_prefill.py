"""Pre-fill for removal through the real host: every method on the example photos, learned models
(random big-lama / MAT of the real architectures, loaded through spandrel), bad input."""
from __future__ import annotations

import sys

import pytest
import torch

from _harness import PromptFailed, pack_module
from image_tools import _inpaint_models as im

CLASSIC = ["neutral", "blur", "telea", "navier-stokes"]


def _needs_cv2(method: str) -> None:
    if method in ("telea", "navier-stokes"):
        pytest.importorskip("cv2", reason="opencv-python-headless is not installed")


@pytest.fixture(scope="session")
def lama_file(models_dir):
    return im.write_torchscript(models_dir / "inpaint" / im.LAMA_FILE, im.random_lama_state_dict(seed=3))


def _check_fill(original: torch.Tensor, mask: torch.Tensor, out: torch.Tensor) -> None:
    hole = mask > 0.5
    assert out.shape == original.shape and torch.isfinite(out).all()
    assert 0.0 <= float(out.min()) and float(out.max()) <= 1.0
    assert torch.equal(out[~hole], original[~hole]), "pixels outside the mask must stay bit-identical"
    assert not torch.equal(out[hole], original[hole]), "the hole was not filled"


@pytest.mark.parametrize("method", CLASSIC)
def test_every_method_on_every_example_photo(graph, input_examples, method: str) -> None:
    _needs_cv2(method)
    nodes = []
    for image_name, mask_name in input_examples:
        image, mask = graph.load(image_name, mask_name)
        # example_4's mask is another size of the same aspect: resized by the node (and here)
        resized = graph.add("BrushEditMaskAdjust", mask=mask, threshold=0.0, fill_holes=False, grow=0,
                            tapered_corners=True, to_bbox=False, bbox_padding=0, invert=False, feather=0)
        nodes.append((image, resized, graph.add("BrushEditPrefill", image=image, mask=mask, method=method)))
    run = graph.run(*[(fill, 0) for _, _, fill in nodes], *[(m, 0) for _, m, _ in nodes])
    mask_ops = pack_module("brushnet_core.image.mask_ops")
    for image, mask, fill in nodes:
        original, out = run.outputs(image[0])[0], run.outputs(fill)[0]
        m = mask_ops.resize_mask(run.outputs(mask)[0], *original.shape[1:3])
        _check_fill(original, m, out)


def test_smooth_methods_fill_with_the_surrounding_colour() -> None:
    prefill = pack_module("brushnet_core.image.prefill")
    image = torch.zeros(1, 64, 80, 3)
    image[..., 0], image[..., 1] = 0.8, 0.3  # flat orange background...
    image[0, 20:40, 30:50] = torch.tensor([0.0, 0.0, 1.0])  # ...with a blue object to remove
    mask = torch.zeros(1, 64, 80)
    mask[0, 18:42, 28:52] = 1.0
    for method in ["neutral", "blur"]:
        out = prefill.prefill(image, mask, method)
        torch.testing.assert_close(out[0, 30, 40], torch.tensor([0.8, 0.3, 0.0]), atol=1e-4, rtol=0)


def test_blur_fill_is_smooth_between_different_borders() -> None:
    prefill = pack_module("brushnet_core.image.prefill")
    ramp = torch.linspace(0, 1, 96).view(1, 1, 96, 1).expand(1, 48, 96, 3).clone()
    mask = torch.zeros(1, 48, 96)
    mask[0, 10:38, 30:66] = 1.0
    out = prefill.prefill(ramp, mask, "blur")[0, 24, 30:66, 0]
    assert torch.all(out[1:] >= out[:-1] - 1e-4), "the fill must keep the left-to-right ramp monotone"
    assert abs(float(out.mean()) - float(ramp[0, 24, 30:66, 0].mean())) < 0.05


def test_lama_prefill_loads_big_lama_pt_through_spandrel(graph, input_examples, lama_file) -> None:
    image, mask = graph.load("example_3.jpg", "example_3_mask.jpg")
    small = graph.add("ImageScale", image=image, upscale_method="bilinear", width=96, height=96, crop="disabled")
    small_mask = graph.add("BrushEditMaskAdjust", mask=mask, threshold=0.5, fill_holes=False, grow=0,
                           tapered_corners=True, to_bbox=False, bbox_padding=0, invert=False, feather=0)
    loader = graph.add("BrushEditInpaintModelLoader", model_name=im.LAMA_FILE)
    fill = graph.add("BrushEditPrefill", image=[small, 0], mask=[small_mask, 0], method="lama",
                     inpaint_model=[loader, 0])
    run = graph.run((fill, 0), (small_mask, 0))
    original, out = run.outputs(small)[0], run.outputs(fill)[0]
    m = pack_module("brushnet_core.image.mask_ops").resize_mask(run.outputs(small_mask)[0], 96, 96)
    assert run.outputs(loader)[0].model.kind == "lama"
    _check_fill(original, m, out)


def test_big_lama_training_checkpoint_layout_keeps_the_generator_only() -> None:
    models = pack_module("brushnet_core.image.inpaint_models")
    # LaMa's training code names the generator's layers generator.model.N...
    sd = {f"generator.{k.removeprefix('model.')}": v for k, v in im.random_lama_state_dict(seed=1).items()}
    sd["discriminator.model0.0.weight"] = torch.zeros(64, 3, 4, 4)
    model = models.load_inpaint_model({"state_dict": sd}, "best.ckpt")
    assert model.kind == "lama" and not model.square and model.multiple == 8


@pytest.mark.skipif(not im.has_extra_arches(), reason="spandrel-extra-arches is not installed")
def test_mat_prefill_through_spandrel_extra_arches(models_dir, graph, input_examples) -> None:
    im.write_safetensors(models_dir / "inpaint" / im.MAT_FILE, im.random_mat_state_dict(seed=5))
    image, mask = graph.load("test_image.jpg", "test_mask.jpg")
    loader = graph.add("BrushEditInpaintModelLoader", model_name=im.MAT_FILE)
    fill = graph.add("BrushEditPrefill", image=image, mask=mask, method="mat", inpaint_model=[loader, 0])
    run = graph.run((fill, 0))
    model = run.outputs(loader)[0].model
    assert model.kind == "mat" and model.square and model.size == 512
    _check_fill(run.outputs(image[0])[0], run.outputs(mask[0])[0], run.outputs(fill)[0])


def test_mat_without_extra_arches_names_the_package(monkeypatch) -> None:
    import spandrel

    models = pack_module("brushnet_core.image.inpaint_models")
    plain = spandrel.ArchRegistry()
    plain.add(*[a for a in spandrel.MAIN_REGISTRY.architectures() if a.architecture.id != "MAT"])
    monkeypatch.setattr(spandrel, "MAIN_REGISTRY", plain)
    monkeypatch.setattr(models, "_extra_registry", lambda: None)
    sd = {"synthesis.first_stage.conv_first.conv.resample_filter": torch.ones(4, 4)}
    with pytest.raises(models.InpaintModelError, match="pip install spandrel-extra-arches"):
        models.load_inpaint_model(sd, "MAT_Places512_G_fp16.safetensors")


def test_other_files_are_refused_with_a_clear_message(tmp_path) -> None:
    from spandrel.architectures.Compact import Compact

    models = pack_module("brushnet_core.image.inpaint_models")
    upscaler = Compact(num_in_ch=3, num_out_ch=3, num_feat=8, num_conv=2, upscale=2).state_dict()
    with pytest.raises(models.InpaintModelError, match="not an inpainting model"):
        models.load_inpaint_model(upscaler, "2x_compact.pth")
    with pytest.raises(models.InpaintModelError, match="not a model spandrel recognises"):
        models.load_inpaint_model({"foo.weight": torch.zeros(2)}, "foo.safetensors")
    pickled = tmp_path / "best.ckpt"
    torch.save({"state_dict": {"a": torch.zeros(1)}, "hyper_parameters": _Config()}, pickled)
    with pytest.raises(models.InpaintModelError, match="training checkpoint .* is not loaded"):
        models.read_state_dict(str(pickled))


class _Config:  # an object a training checkpoint pickles beside its weights
    pass


def test_learned_method_without_its_model_is_a_clear_error(graph, input_examples) -> None:
    image, mask = graph.load("example_1.jpg", "example_1_mask.jpg")
    fill = graph.add("BrushEditPrefill", image=image, mask=mask, method="lama")
    with pytest.raises(PromptFailed, match="lama pre-fill needs its model: connect an Inpaint Model Loader"):
        graph.run((fill, 0))


def test_method_and_model_must_agree() -> None:
    node = pack_module("nodes.prefill")
    models = pack_module("brushnet_core.image.inpaint_models")
    fake = node.LoadedInpaintModel(models.InpaintModel("mat", None, 512, True, 512, "MAT.safetensors"), None)
    with pytest.raises(ValueError, match="method is lama but the connected model .* is MAT: choose method mat"):
        node.BrushEditPrefill.execute(torch.rand(1, 32, 32, 3), torch.ones(1, 32, 32), "lama", fake)


def test_opencv_missing_names_the_package(monkeypatch) -> None:
    prefill = pack_module("brushnet_core.image.prefill")
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(prefill.PrefillError, match="pip install opencv-python-headless"):
        prefill.prefill(torch.rand(1, 16, 16, 3), torch.ones(1, 16, 16), "telea")


@pytest.mark.parametrize("method", CLASSIC)
def test_edge_masks(method: str) -> None:
    _needs_cv2(method)
    prefill = pack_module("brushnet_core.image.prefill")
    image = torch.rand(1, 40, 56, 3, generator=torch.Generator().manual_seed(1))
    empty = torch.zeros(1, 40, 56)
    assert torch.equal(prefill.prefill(image, empty, method), image)
    full = prefill.prefill(image, torch.ones(1, 40, 56), method)
    assert full.shape == image.shape and torch.isfinite(full).all()
    for region in [(0, 0, 1, 1), (0, 10, 56, 20), (55, 39, 56, 40)]:  # 1 px corner, border to border
        mask = torch.zeros(1, 40, 56)
        mask[0, region[1]:region[3], region[0]:region[2]] = 1.0
        _check_fill(image, mask, prefill.prefill(image, mask, method))


def test_mismatched_mask_and_batches_are_clear_errors() -> None:
    prefill = pack_module("brushnet_core.image.prefill")
    with pytest.raises(ValueError, match="mask is 30x40 .* resize or crop both alike"):
        prefill.prefill(torch.rand(1, 40, 40, 3), torch.ones(1, 40, 30), "blur")
    with pytest.raises(ValueError, match="batch size mismatch"):
        prefill.prefill(torch.rand(2, 40, 40, 3), torch.ones(3, 40, 40), "blur")
    with pytest.raises(ValueError, match="unknown pre-fill method 'foo'"):
        prefill.prefill(torch.rand(1, 8, 8, 3), torch.ones(1, 8, 8), "foo")
