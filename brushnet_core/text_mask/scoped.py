"""Changes to one loaded model that last only for one call: the rest of the process never sees them.

Shared by the faster attention cores (``sam_attention``, ``deformable``) and the original reference-box
eps (``original``): nothing is set on a module of transformers or torch, and nothing stays on the model
after the ``with`` block, also when the call raises.
"""
from __future__ import annotations

import contextlib
import types
from collections.abc import Iterator
from typing import Any, Callable

from torch import nn


@contextlib.contextmanager
def swapped_forward(model: nn.Module, wanted: Callable[[nn.Module], bool], forward: Callable[..., Any],
                    enabled: bool = True) -> Iterator[int]:
    """Within the block every submodule of ``model`` for which ``wanted`` is true runs ``forward`` (bound
    to it, as an instance attribute that is removed after). A module whose ``forward`` is already an
    instance attribute is left alone. Yields how many were switched (0 when not ``enabled``)."""
    switched: list[nn.Module] = []
    if enabled:
        for module in model.modules():
            if wanted(module) and "forward" not in vars(module):
                module.forward = types.MethodType(forward, module)
                switched.append(module)
    try:
        yield len(switched)
    finally:
        for module in switched:
            vars(module).pop("forward", None)


@contextlib.contextmanager
def removed_after(handles: list[Any]) -> Iterator[None]:
    """Remove the hook ``handles`` (``torch.utils.hooks.RemovableHandle``) when the block ends; the caller
    appends to the list inside the block, so hooks registered before a failure are removed too."""
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()
        handles.clear()
