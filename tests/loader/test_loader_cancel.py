"""Cancel while a BrushNet file is being read: ComfyUI's interrupt, not a "corrupt file" message.

The loader reports reading progress through ComfyUI's progress bar, whose hook raises the interrupt
when Cancel was pressed. That exception belongs to the caller: it must not be reported as an
unreadable file (found by e2e/test_concurrency.py: a cancel during loading said "The file is
probably truncated or corrupt").
"""
from __future__ import annotations

import pytest

import _harness
from _models import TINY_BRUSHNET
from demo.random_models import random_brushnet, save_brushnet


class Cancelled(Exception):
    pass


@pytest.fixture(scope="module")
def brushnet_file(models_dir):
    rel = "cancel/tiny_sd15.safetensors"
    save_brushnet(random_brushnet(TINY_BRUSHNET["sd15"], seed=3), models_dir / "brushnet" / rel)
    return models_dir / "brushnet" / rel, rel


def test_an_exception_from_the_progress_callback_is_passed_on_unchanged(brushnet_file):
    checkpoint = _harness.pack_module("brushnet_core.branch.checkpoint")

    def progress(done, total):
        raise Cancelled("cancel pressed")

    with pytest.raises(Cancelled, match="cancel pressed"):
        checkpoint.read_checkpoint(str(brushnet_file[0]), progress=progress)


def test_cancel_during_brushnet_loading_is_comfyuis_interrupt(brushnet_file, monkeypatch):
    import comfy.model_management as mm
    import comfy.utils

    def hook(value, total, preview_image, prompt_id=None, node_id=None):  # what main.py's server hook does first
        mm.throw_exception_if_processing_interrupted()

    monkeypatch.setattr(comfy.utils, "PROGRESS_BAR_HOOK", hook)
    loader = _harness.pack_module("nodes.loader")
    mm.interrupt_current_processing(True)
    try:
        with pytest.raises(mm.InterruptProcessingException):
            loader.BrushNetLoader.execute(brushnet=brushnet_file[1], dtype="float32")
    finally:
        mm.interrupt_current_processing(False)
