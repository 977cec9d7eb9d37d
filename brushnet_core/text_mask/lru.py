"""Small least-recently-used caches on an ``OrderedDict`` (SAM embeddings, Swin features, raw detections).

Each cache is bounded twice: by a number of entries (the bundle's ``cache_size``) and by the bytes of
the tensors it holds (the bundle's ``cache_bytes``). The byte limit is what bounds memory: one image's
entry ranges from about 1 MiB (raw detections) to about 100 MiB (Swin features of a 1344-pixel
detection input, or SAM-HQ ViT-H intermediate embeddings).

Documented limits (per cache, per loaded model):

* entries: SAM embeddings 4 images, GroundingDINO Swin features 4, raw GroundingDINO outputs 8;
* bytes: :data:`DEFAULT_CACHE_MB` MiB each, set with the environment variable
  ``BRUSHEDIT_TEXT_MASK_CACHE_MB`` (read when a model is loaded; ``0`` turns caching off).

An entry bigger than the byte limit is used for the current call but not kept. The caches live on
the loaded model's bundle, so they go when ComfyUI drops the loader's output; the nodes also empty
them when ComfyUI unloads the model (``POST /free``, memory pressure).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any, Optional

import torch

#: default byte limit of each cache, in MiB
DEFAULT_CACHE_MB = 256
#: environment variable that sets the byte limit of each cache, in MiB
CACHE_MB_ENV = "BRUSHEDIT_TEXT_MASK_CACHE_MB"


def cache_bytes() -> int:
    """The byte limit for a new cache: ``BRUSHEDIT_TEXT_MASK_CACHE_MB`` MiB, else the default."""
    raw = os.environ.get(CACHE_MB_ENV, "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_CACHE_MB
    except ValueError:
        mb = DEFAULT_CACHE_MB
    if mb != mb or mb < 0:  # NaN or negative: the default, never unbounded
        mb = DEFAULT_CACHE_MB
    return int(mb * (1 << 20))


def nbytes(value: Any) -> int:
    """Bytes of the tensors in ``value`` (tensors, mappings, lists and tuples, nested; other leaves 0)."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, Mapping):
        return sum(nbytes(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return sum(nbytes(v) for v in value)
    return 0


def lru_get(cache: OrderedDict, key: str) -> Any:
    """The cached value (marked most recently used), or None."""
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
    return hit


def lru_put(cache: OrderedDict, key: str, value: Any, size: int, max_bytes: Optional[int] = None) -> Any:
    """Store ``value`` and drop the least recently used entries beyond ``size`` entries or ``max_bytes``
    bytes; return ``value``. A value larger than ``max_bytes`` by itself is returned but not stored."""
    cache.pop(key, None)
    if max_bytes is not None and nbytes(value) > max_bytes:
        return value
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)
    if max_bytes is not None:
        while cache and nbytes(cache) > max_bytes:
            cache.popitem(last=False)
    return value
