"""What the two local planners (text LLM, Qwen-VL) share: reading the folder's model type, dtypes,
loading offline with errors that name the missing files, and generating with a cancel check.

transformers is imported inside functions only, so importing this module stays cheap and offline.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
from typing import Any, Callable, Iterator, Optional

import torch

from ..errors import BrushEditError
from .backend import CancelCheck

log = logging.getLogger("BrushEdit.planner")

DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}

#: manager(model) -> ensure_loaded() -> device; the ComfyUI node passes one built on ModelPatcher.
Manager = Callable[[torch.nn.Module], Callable[[], torch.device]]


def torch_dtype(dtype: Any) -> Any:
    """A dtype name ('float16', 'bfloat16', 'float32') as a torch dtype; anything else as given."""
    return DTYPES.get(dtype, dtype) if isinstance(dtype, str) else dtype


class LocalModelNotFound(BrushEditError, FileNotFoundError):
    """A local planner model folder that is missing or cannot be loaded offline."""


class LocalModelUnsupported(BrushEditError, ImportError):
    """A local planner model whose family the installed transformers cannot load."""


def read_model_type(path: str) -> str:
    """``model_type`` from the folder's ``config.json`` ('' when it has none)."""
    cfg_path = os.path.join(path, "config.json")
    try:
        with open(cfg_path, encoding="utf-8") as fh:
            return str(json.load(fh).get("model_type", ""))
    except (OSError, json.JSONDecodeError) as exc:
        raise LocalModelNotFound(f"cannot read {cfg_path}: {exc}") from None


@contextlib.contextmanager
def offline_folder(path: str, needs: str) -> Iterator[None]:
    """Turn transformers' OSError for a folder it cannot load offline into a FileNotFoundError that
    says which files the folder needs (``needs``)."""
    try:
        yield
    except OSError as exc:
        raise LocalModelNotFound(f"could not load the model folder {path} offline: {exc}. It needs {needs}.") from None


def managed(model: torch.nn.Module, manager: Optional[Manager], path: str, kind: str,
            detail: str) -> tuple[Optional[Callable[[], torch.device]], str]:
    """Put a loaded model in eval mode under ``manager``; returns (ensure_loaded, folder name)."""
    model.eval()
    ensure = manager(model) if manager is not None else None
    name = os.path.basename(path.rstrip("/\\"))
    log.info("[BrushEdit] loaded local %s %s (%s)", kind, name, detail)
    return ensure, name


def cancel_criteria(check: CancelCheck) -> tuple[Any, Any]:
    """(criterion, StoppingCriteriaList) calling ``check`` after every generated token.

    When ``check`` raises, generation stops at that token and the exception is kept on the criterion
    (``.error``); :func:`generate` re-raises it after ``generate`` returns, so the cancel reaches the
    caller even if a generation wrapper would swallow exceptions from stopping criteria.
    """
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Cancel(StoppingCriteria):
        def __init__(self) -> None:
            self.error: Optional[BaseException] = None

        def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
            if self.error is None:
                try:
                    check()
                except Exception as exc:  # noqa: BLE001 - re-raised after generate returns
                    self.error = exc
            return torch.full((input_ids.shape[0],), self.error is not None, dtype=torch.bool,
                              device=input_ids.device)

    criterion = _Cancel()
    return criterion, StoppingCriteriaList([criterion])


def generate(model: Any, batch: dict, max_new_tokens: int, check: CancelCheck, **kwargs: Any) -> torch.Tensor:
    """Greedy ``model.generate`` on ``batch`` with ``check`` called before and after every token;
    returns only the new tokens."""
    check()
    criterion, stopping = cancel_criteria(check)
    out = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False, stopping_criteria=stopping,
                         **kwargs)
    if criterion.error is not None:
        raise criterion.error
    return out[:, batch["input_ids"].shape[1]:]
