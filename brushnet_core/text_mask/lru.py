"""Small least-recently-used caches on an ``OrderedDict`` (SAM embeddings, Swin features, raw detections)."""
from __future__ import annotations

from collections import OrderedDict
from typing import Any


def lru_get(cache: OrderedDict, key: str) -> Any:
    """The cached value (marked most recently used), or None."""
    hit = cache.get(key)
    if hit is not None:
        cache.move_to_end(key)
    return hit


def lru_put(cache: OrderedDict, key: str, value: Any, size: int) -> Any:
    """Store ``value`` and drop the least recently used entries beyond ``size``; return ``value``."""
    cache[key] = value
    while len(cache) > size:
        cache.popitem(last=False)
    return value
