"""PowerPaintCLIPLoader: task tokens from the PowerPaint text-encoder file, applied without touching other CLIPs."""
from __future__ import annotations

import pytest
import torch

import _harness
from brushnet_core.powerpaint.tokens import (FUNCTIONS, PowerPaintTokensError, mix, read_text_encoder,
                                             rewrite_task_words, task_prompts)
from powerpaint._pp import (encode_with_vectors, powerpaint_text_encoder_sd, task_vectors, tiny_clip_options,
                            tiny_clip_files, tiny_powerpaint_clip)


def _pp():
    return _harness.pack_module("nodes.powerpaint")


def test_released_layout_is_split_into_vectors_and_clip_weights() -> None:
    vectors = task_vectors(seed=1)
    enc = read_text_encoder(powerpaint_text_encoder_sd(2, vectors))
    assert list(enc.tokens) == ["P_ctxt", "P_shape", "P_obj"]
    assert all(torch.equal(enc.tokens[w], vectors[w]) for w in vectors)
    assert "text_model.embeddings.token_embedding.weight" in enc.weights
    assert not any("wrapped" in k or "trainable" in k for k in enc.weights)


def test_vectors_merged_into_the_embedding_rows_are_found() -> None:
    vectors = task_vectors(seed=1, width=8)
    table = torch.cat([torch.randn(49408, 8), vectors["P_ctxt"], vectors["P_shape"], vectors["P_obj"]])
    enc = read_text_encoder({"text_model.embeddings.token_embedding.weight": table})
    assert torch.equal(enc.tokens["P_shape"], vectors["P_shape"])
    assert enc.weights["text_model.embeddings.token_embedding.weight"].shape == (49408, 8)


@pytest.mark.parametrize("sd, expected", [
    ({"conv_in_condition.weight": torch.randn(8, 9, 3, 3)}, "BrushNetLoader"),
    ({"text_model.final_layer_norm.weight": torch.randn(8)}, "no PowerPaint task tokens"),
])
def test_wrong_text_encoder_files_are_named(sd, expected) -> None:
    with pytest.raises(PowerPaintTokensError, match=expected):
        read_text_encoder(sd, source="x.bin")


def test_task_words_become_embedding_references() -> None:
    assert rewrite_task_words(" P_ctxt") == " embedding:P_ctxt"
    assert rewrite_task_words("a cat,P_obj P_objects embedding:P_shape") == "a cat, embedding:P_obj P_objects embedding:P_shape"


def test_function_table_matches_the_earlier_pack() -> None:
    assert list(FUNCTIONS) == ["text guided", "shape guided", "object removal", "context aware", "image outpainting"]
    def four(name):
        p = task_prompts(name)
        return (p.positive_a, p.positive_b, p.negative_a, p.negative_b)

    assert four("object removal") == four("image outpainting") == ("P_ctxt", "P_ctxt", "P_obj", "P_obj")
    assert four("shape guided") == ("P_shape", "P_ctxt", "P_shape", "P_ctxt")
    assert four("context aware") == ("P_ctxt", "P_ctxt", "", "")
    assert four("text guided") == ("P_obj",) * 4
    with pytest.raises(ValueError, match="unknown PowerPaint function"):
        task_prompts("remove")


def test_fitting_mixes_a_and_b() -> None:
    a, b = torch.ones(1, 2, 3), torch.zeros(1, 2, 3)
    assert torch.allclose(mix(a, b, 0.7), torch.full((1, 2, 3), 0.7))


def test_loaded_clip_tokenizes_task_words_into_the_learned_vectors(models_dir) -> None:
    _, _, vectors = tiny_clip_files(str(models_dir))
    clip = tiny_powerpaint_clip(models_dir)
    row = clip.tokenize("P_shape")["l"][0]
    assert row[0][0] == 49406 and row[11][0] == 49407
    assert all(torch.equal(row[1 + i][0], vectors["P_shape"][i]) for i in range(10))
    plain = clip.tokenize("a small cat")["l"][0]
    assert all(isinstance(t, int) for t, _ in plain)


def test_task_word_encoding_equals_tensor_tokens(models_dir) -> None:
    _, _, vectors = tiny_clip_files(str(models_dir))
    clip = tiny_powerpaint_clip(models_dir)
    got = _pp().encode_text(clip, "P_obj")
    assert torch.allclose(got, encode_with_vectors(clip, vectors["P_obj"]), atol=1e-6)
    assert not torch.allclose(got, encode_with_vectors(clip, vectors["P_ctxt"]), atol=1e-3)


def test_text_encoder_weights_of_the_file_are_applied(models_dir) -> None:
    import comfy.sd

    base, pp, _ = tiny_clip_files(str(models_dir))
    clip = tiny_powerpaint_clip(models_dir)
    stored = torch.load(str(pp), weights_only=True)
    key = "text_model.encoder.layers.1.mlp.fc2.weight"
    weight = clip.cond_stage_model.clip_l.transformer.state_dict()[key]
    assert torch.equal(weight, stored[key].to(weight.dtype))
    plain = comfy.sd.load_clip([str(base)], model_options=tiny_clip_options())
    assert not torch.equal(plain.cond_stage_model.clip_l.transformer.state_dict()[key], stored[key].to(weight.dtype))


def test_other_clips_are_not_changed(models_dir) -> None:
    import comfy.sd

    base, _, _ = tiny_clip_files(str(models_dir))
    tiny_powerpaint_clip(models_dir)
    plain = comfy.sd.load_clip([str(base)], model_options=tiny_clip_options())
    row = plain.tokenize("P_obj")["l"][0]
    assert all(isinstance(t, int) for t, _ in row)
    assert not hasattr(plain.tokenizer.clip_l, "powerpaint_task_tokens")


def test_clip_clone_keeps_the_task_tokens(models_dir) -> None:
    clip = tiny_powerpaint_clip(models_dir).clone()
    clip.clip_layer(-2)
    assert isinstance(clip.tokenize("P_ctxt")["l"][0][1][0], torch.Tensor)


def test_loader_refuses_the_brushnet_file_as_text_encoder(models_dir) -> None:
    import safetensors.torch

    path = models_dir / "inpaint" / "powerpaint" / "diffusion_pytorch_model.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({"conv_in_condition.weight": torch.randn(8, 9, 3, 3)}, str(path))
    base, _, _ = tiny_clip_files(str(models_dir))
    with pytest.raises(ValueError, match="BrushNetLoader"):
        _pp().load_powerpaint_clip(str(base), str(path), model_options=tiny_clip_options())


def test_loader_node_schema_matches_the_earlier_pack() -> None:
    schema = _pp().PowerPaintCLIPLoader.define_schema()
    assert schema.node_id == "PowerPaintCLIPLoader"
    assert [i.id for i in schema.inputs] == ["base", "powerpaint"]
    assert [o.io_type for o in schema.outputs] == ["CLIP"]


def test_loader_node_in_a_workflow_names_a_wrong_powerpaint_file(models_dir) -> None:
    import safetensors.torch

    tiny_clip_files(str(models_dir))
    wrong = models_dir / "inpaint" / "powerpaint" / "not_the_text_encoder.safetensors"
    wrong.parent.mkdir(parents=True, exist_ok=True)
    safetensors.torch.save_file({"conv_in_condition.weight": torch.randn(8, 9, 3, 3)}, str(wrong))
    prompt = {"1": {"class_type": "PowerPaintCLIPLoader",
                    "inputs": {"base": "tiny_clip_l.safetensors", "powerpaint": "powerpaint/not_the_text_encoder.safetensors"}}}
    with pytest.raises(_harness.PromptFailed, match="pytorch_model.bin"):
        _harness.run_prompt(prompt, targets=["1"])
