"""Every text-mask cache is bounded by entries AND by bytes, and is emptied when ComfyUI unloads the model."""
from __future__ import annotations

from collections import OrderedDict

import pytest
import torch

import _harness
from brushnet_core.text_mask import DinoBundle, SamBundle, text_to_masks
from brushnet_core.text_mask import lru
from brushnet_core.text_mask.loading import load_tokenizer
import tm_tiny

CPU = torch.device("cpu")
MIB = 1 << 20


def _mib(n: float) -> torch.Tensor:
    return torch.zeros(int(n * MIB) // 4, dtype=torch.float32)


def test_nbytes_counts_tensors_in_nested_structures():
    value = {"a": _mib(1), "b": (_mib(0.5), [_mib(0.25), None, "x"])}
    assert lru.nbytes(value) == int(1.75 * MIB)


def test_lru_evicts_by_bytes_as_well_as_by_entries():
    cache: OrderedDict = OrderedDict()
    for i in range(3):
        lru.lru_put(cache, f"k{i}", _mib(1), size=10, max_bytes=int(2.5 * MIB))
    assert list(cache) == ["k1", "k2"]  # the oldest went: 3 MiB > 2.5 MiB
    lru.lru_get(cache, "k1")  # now most recently used
    lru.lru_put(cache, "k3", _mib(1), size=10, max_bytes=int(2.5 * MIB))
    assert list(cache) == ["k1", "k3"]
    lru.lru_put(cache, "k4", _mib(1), size=1, max_bytes=int(2.5 * MIB))
    assert list(cache) == ["k4"]  # the entry count still applies


def test_an_entry_larger_than_the_byte_limit_is_returned_but_not_kept():
    cache: OrderedDict = OrderedDict()
    lru.lru_put(cache, "small", _mib(1), size=4, max_bytes=2 * MIB)
    big = _mib(3)
    assert lru.lru_put(cache, "big", big, size=4, max_bytes=2 * MIB) is big
    assert list(cache) == ["small"]


def test_default_byte_limit_is_documented_and_set_from_the_environment(monkeypatch):
    assert lru.DEFAULT_CACHE_MB == 256 and lru.CACHE_MB_ENV == "BRUSHEDIT_TEXT_MASK_CACHE_MB"
    monkeypatch.delenv(lru.CACHE_MB_ENV, raising=False)
    assert lru.cache_bytes() == 256 * MIB
    monkeypatch.setenv(lru.CACHE_MB_ENV, "64")
    assert lru.cache_bytes() == 64 * MIB
    monkeypatch.setenv(lru.CACHE_MB_ENV, "0")
    assert lru.cache_bytes() == 0  # caching off
    monkeypatch.setenv(lru.CACHE_MB_ENV, "lots")
    assert lru.cache_bytes() == 256 * MIB  # unreadable: the default, never unbounded
    monkeypatch.setenv(lru.CACHE_MB_ENV, "3")
    dino = DinoBundle(model=None, tokenizer=None)
    sam = SamBundle(model=None, kind="sam")
    assert dino.cache_bytes == sam.cache_bytes == 3 * MIB


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    folder = tmp_path_factory.mktemp("vocab_bounds")
    tm_tiny.write_vocab(str(folder))
    return load_tokenizer(str(folder))


def test_pipeline_caches_stay_under_their_byte_limit(tiny_gdino, tiny_sam, tokenizer):
    dino = DinoBundle(model=tiny_gdino, tokenizer=tokenizer, short_side=128, max_side=256)
    sam = SamBundle(model=tiny_sam, kind="sam", image_size=256)
    images = torch.rand((6, 72, 96, 3), generator=torch.Generator().manual_seed(3))
    text_to_masks(dino, sam, images[:1], "dog", 0.0, 0.0, "union", CPU, CPU)
    one = {name: lru.nbytes(c) for name, c in (("swin", dino.cache), ("out", dino.outputs), ("sam", sam.cache))}
    assert all(v > 0 for v in one.values())
    # room for two images' entries in each cache: the byte limit, not the count (4 / 8), decides
    dino.cache_bytes = 2 * one["swin"] + 1
    sam.cache_bytes = 2 * one["sam"] + 1
    dino.cache.clear(), dino.outputs.clear(), sam.cache.clear()
    for i in range(images.shape[0]):
        text_to_masks(dino, sam, images[i:i + 1], "dog", 0.0, 0.0, "union", CPU, CPU)
        assert lru.nbytes(dino.cache) <= dino.cache_bytes and lru.nbytes(sam.cache) <= sam.cache_bytes
        assert lru.nbytes(dino.outputs) <= dino.cache_bytes
    assert len(dino.cache) == 2 and len(sam.cache) == 2
    assert (dino.backbone_calls, sam.encoder_calls) == (7, 7)


def test_unloading_the_models_empties_their_caches(text_mask_models, input_image):
    """What POST /free does first (unload_all_models) releases the cached features too (VRAM on a GPU)."""
    import comfy.model_management as mm

    from test_tm_nodes import _graph

    run = _harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth"))
    dino, sam = run.outputs("2")[0], run.outputs("3")[0]
    assert len(dino.bundle.cache) == 1 and len(sam.bundle.cache) == 1 and len(dino.bundle.outputs) == 1
    mm.unload_all_models()
    assert len(dino.bundle.cache) == 0 and len(sam.bundle.cache) == 0 and len(dino.bundle.outputs) == 0


def test_nothing_of_the_pack_outlives_what_free_does(text_mask_models, input_image):
    """After runs (one failing) and what POST /free does (unload every model, drop the executor's
    caches, collect), no loaded model, bundle, cache or patcher of the pack is still alive: what RSS
    a server keeps after /free is the allocator's, not ours (see docs/security.md, "Memory")."""
    import gc
    import weakref

    import comfy.model_management as mm

    from test_tm_nodes import _graph

    run = _harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth"))
    dino, sam = run.outputs("2")[0], run.outputs("3")[0]
    refs = [weakref.ref(x) for x in (dino, sam, dino.bundle, sam.bundle, dino.patcher, sam.patcher,
                                      dino.bundle.model, sam.bundle.model)]
    refs += [weakref.ref(v[1][0]) for v in dino.bundle.cache.values()]  # a cached Swin position map
    del run, dino, sam
    with pytest.raises(_harness.PromptFailed):  # a failing run on the same loaded models
        _harness.run_prompt(_graph("groundingdino_tiny.pth", "sam_vit_tiny.pth", prompt=" , "), fresh_cache=False)
    mm.unload_all_models()
    _harness.run_prompt({"1": {"class_type": "LoadImage", "inputs": {"image": input_image}},
                         "9": {"class_type": "PreviewImage", "inputs": {"images": ["1", 0]}}})  # new executor
    gc.collect()
    alive = [r() for r in refs if r() is not None]
    assert not alive, [type(a).__name__ for a in alive]
