"""Build tiny random Qwen-VL model folders offline (config + weights + tokenizer + processor)."""
from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

import torch

SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|vision_start|>", "<|vision_end|>",
            "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>"]
# Our own minimal ChatML-style template (the Qwen layout: images as vision_start/image_pad/vision_end).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}{% else %}"
    "{% for part in message['content'] %}{% if part['type'] == 'image' %}"
    "<|vision_start|><|image_pad|><|vision_end|>{% elif part['type'] == 'text' %}{{ part['text'] }}"
    "{% endif %}{% endfor %}{% endif %}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    '{"category": "remove", "object": "dog", "target_caption": "an empty lawn", "box": null}',
    "addition remove local global background category object target caption box",
    "You plan image edits for an inpainting model. The picture is 640x480 pixels.",
    "0123456789 [ ] { } , : \" x0 y0 x1 y1 pixels normalised",
]


def build_tokenizer_object():
    """A byte-level BPE (``tokenizers.Tokenizer``) trained offline on a few sentences; the same
    vocabulary and merges on every tokenizers release tried (0.22, 0.23)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(CORPUS * 4, trainer)
    return tok


def build_tokenizer(folder: Path):
    """The byte-level BPE as a Qwen2TokenizerFast, saved into ``folder`` by the installed transformers."""
    from transformers import Qwen2TokenizerFast

    tok = build_tokenizer_object()
    fast = Qwen2TokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                              unk_token=None, bos_token=None, additional_special_tokens=SPECIALS[1:])
    fast.save_pretrained(folder)
    return fast


#: CLIP normalisation, as in the published Qwen2-VL preprocessor_config.json
_MEAN, _STD = [0.48145466, 0.4578275, 0.40821073], [0.26862954, 0.26130258, 0.27577711]
_NORM_WEIGHT = re.compile(r"(norm[^.]*|ln_q)\.weight$")


def hub_config(ids: dict[str, int], vocab_size: int) -> dict:
    """config.json as published for Qwen/Qwen2-VL-*-Instruct (flat text fields, ``rope_scaling`` of type
    mrope, written by transformers 4.41), at a tiny size."""
    return {
        "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl",
        "attention_dropout": 0.0, "bos_token_id": ids["<|endoftext|>"], "eos_token_id": ids["<|im_end|>"],
        "vision_start_token_id": ids["<|vision_start|>"], "vision_end_token_id": ids["<|vision_end|>"],
        "vision_token_id": ids["<|vision_pad|>"], "image_token_id": ids["<|image_pad|>"],
        "video_token_id": ids["<|video_pad|>"], "hidden_act": "silu", "hidden_size": 64, "initializer_range": 0.02,
        "intermediate_size": 128, "max_position_embeddings": 4096, "max_window_layers": 1, "num_attention_heads": 2,
        "num_hidden_layers": 1, "num_key_value_heads": 1, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
        "sliding_window": 4096, "tie_word_embeddings": True, "torch_dtype": "float32", "transformers_version": "4.41.2",
        "use_cache": True, "use_sliding_window": False,
        "vision_config": {"depth": 1, "embed_dim": 32, "mlp_ratio": 2, "num_heads": 2, "in_chans": 3,
                          "hidden_size": 64, "patch_size": 14, "spatial_merge_size": 2, "spatial_patch_size": 14,
                          "temporal_patch_size": 2},
        "rope_scaling": {"type": "mrope", "mrope_section": [4, 6, 6]},
        "vocab_size": vocab_size,
    }


def _write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def build_tiny_qwen2_vl(folder: Path, seed: int = 0) -> Path:
    """Write a random, tiny Qwen2-VL folder in the file layout of the published Qwen2-VL repositories.

    config.json (flat, mrope ``rope_scaling``), generation_config.json, model.safetensors (published
    key names: ``model.layers.*``, ``visual.*``), tokenizer.json + vocab.json + merges.txt +
    tokenizer_config.json, preprocessor_config.json and chat_template.json: no file is written by
    the installed transformers, so the same folder (weights seeded in sorted-key order) is read by
    transformers 4 and 5, as a user's download would be.
    """
    import transformers
    from safetensors import safe_open
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    tok = build_tokenizer_object()
    tok.save(str(folder / "tokenizer.json"))
    tok.model.save(str(folder))  # vocab.json + merges.txt, as published
    ids = {t: tok.token_to_id(t) for t in SPECIALS}
    added = {str(ids[t]): {"content": t, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False,
                           "special": True} for t in SPECIALS}
    _write_json(folder / "tokenizer_config.json", {
        "add_prefix_space": False, "added_tokens_decoder": added, "additional_special_tokens": SPECIALS[1:],
        "bos_token": None, "clean_up_tokenization_spaces": False, "eos_token": "<|im_end|>", "errors": "replace",
        "model_max_length": 32768, "pad_token": "<|endoftext|>", "split_special_tokens": False,
        "tokenizer_class": "Qwen2Tokenizer", "unk_token": None})
    _write_json(folder / "preprocessor_config.json", {
        "min_pixels": 28 * 28 * 4, "max_pixels": 28 * 28 * 64, "patch_size": 14, "temporal_patch_size": 2,
        "merge_size": 2, "image_mean": _MEAN, "image_std": _STD, "image_processor_type": "Qwen2VLImageProcessor",
        "processor_class": "Qwen2VLProcessor"})
    _write_json(folder / "chat_template.json", {"chat_template": CHAT_TEMPLATE})
    _write_json(folder / "generation_config.json", {
        "bos_token_id": ids["<|endoftext|>"], "pad_token_id": ids["<|endoftext|>"], "do_sample": True,
        "eos_token_id": [ids["<|im_end|>"], ids["<|endoftext|>"]], "repetition_penalty": 1.05, "temperature": 0.1,
        "top_p": 0.001, "top_k": 1, "transformers_version": "4.41.2"})
    _write_json(folder / "config.json", hub_config(ids, tok.get_vocab_size()))
    # the weight names and shapes: what the model built from this config writes (published layout)
    config = transformers.Qwen2VLConfig.from_pretrained(folder, local_files_only=True)
    with tempfile.TemporaryDirectory() as tmp:
        with torch.device("meta"):
            model = transformers.Qwen2VLForConditionalGeneration(config)
        shapes = _published_shapes(model, Path(tmp), safe_open)
    if config.tie_word_embeddings:  # published tied checkpoints carry the embedding only
        shapes.pop("lm_head.weight", None)
    g = torch.Generator().manual_seed(seed)
    weights = {}
    for key in sorted(shapes):
        noise = torch.randn(shapes[key], generator=g) * 0.1
        weights[key] = noise + 1.0 if _NORM_WEIGHT.search(key) else noise
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


def _published_shapes(model, tmp: Path, safe_open) -> dict[str, tuple[int, ...]]:
    """On-disk key names and shapes of ``model`` (transformers maps its in-memory names back to the
    published ones when saving); the meta model is materialised only for this."""
    model = model.to_empty(device="cpu")
    model.save_pretrained(tmp)
    out = {}
    with safe_open(str(tmp / "model.safetensors"), "pt") as fh:
        for key in fh.keys():
            out[key] = tuple(fh.get_slice(key).get_shape())
    return out


# ------------------------------------------------------------------ same answer on transformers 4 and 5

GOLDEN_SYSTEM = "You plan image edits. Answer with JSON."
GOLDEN_TURN = ("user", "Editing instruction: remove the dog")


def golden_image():
    """112x84: a multiple of 28 inside the pixel bounds, so no processor resizes it (no interpolation
    differences between image-processor implementations), with edges inside patches."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (112, 84), (200, 40, 40))
    draw = ImageDraw.Draw(img)
    draw.rectangle((10, 5, 60, 50), fill=(30, 160, 90))
    draw.ellipse((50, 30, 105, 80), fill=(240, 230, 20))
    return img


def golden_chat(planner) -> dict:
    """Run the planner's real chat path once and record what went in and came out."""
    from brushnet_core.planner import vlm_backend

    seen: dict = {}
    real = planner.model.generate

    def generate(**kwargs):
        seen.update(kwargs)
        out = real(**kwargs, output_logits=True, return_dict_in_generate=True)
        seen["logits"] = out.logits[0][0]
        return out.sequences

    old_system, old_generate = vlm_backend.SYSTEM_PROMPT, planner.model.generate
    vlm_backend.SYSTEM_PROMPT, planner.model.generate = GOLDEN_SYSTEM, generate
    try:
        answer = planner.chat([GOLDEN_TURN], golden_image())
    finally:
        vlm_backend.SYSTEM_PROMPT, planner.model.generate = old_system, old_generate
    top = seen["logits"].float().topk(8)
    pixels = seen["pixel_values"].double()
    return {
        "input_ids": seen["input_ids"][0].tolist(),
        "image_grid_thw": seen["image_grid_thw"].tolist(),
        "pixel_values": [list(pixels.shape), round(pixels.sum().item(), 3), round(pixels.abs().sum().item(), 3)],
        "top_logits": [round(v, 5) for v in top.values.tolist()], "top_ids": top.indices.tolist(),
        "answer": answer,
    }


#: recorded on the pinned test host (transformers 4.57.6, torch 2.14.1): ``python tiny_qwen.py``
GOLDEN: dict = {'answer': 'deldeldeldeldeldel',
 'image_grid_thw': [[1, 6, 8]],
 'input_ids': [1, 90, 96, 90, 91, 274, 206, 319, 373, 377, 366, 347, 21, 228, 40, 85, 90, 94, 76, 89, 228, 94, 80, 91,
               79, 228, 49, 58, 54, 53, 21, 2, 206, 1, 92, 90, 76, 89, 206, 3, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 4,
               44, 284, 268, 341, 278, 85, 90, 91, 89, 92, 74, 279, 33, 361, 228, 91, 79, 76, 228, 393, 2, 206, 1, 72,
               90, 90, 333, 91, 271, 91, 206],
 'pixel_values': [[48, 1176], -3380.96, 61945.61],
 'top_ids': [327, 60, 70, 23, 239, 66, 226, 164],
 'top_logits': [2.21149, 2.11536, 2.02785, 2.0168, 1.78168, 1.6493, 1.64631, 1.60543]}


if __name__ == "__main__":
    import pprint
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from brushnet_core.planner.vlm_backend import load_vlm_planner

    with tempfile.TemporaryDirectory() as tmp:
        built = build_tiny_qwen2_vl(Path(tmp) / "tiny-qwen2-vl")
        record = golden_chat(load_vlm_planner(str(built), max_new_tokens=6, max_image_side=256))
    pprint.pprint(record, width=120, compact=True)
