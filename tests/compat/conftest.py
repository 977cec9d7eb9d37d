"""Contract tests change the host's behaviour per test: forget the detected features after each, and
unload what they sampled (a LoRA clone left loaded keeps its weights patched into the shared test UNet,
which later tests run directly)."""
from __future__ import annotations

import pytest

import _harness


@pytest.fixture(autouse=True)
def fresh_host_features():
    from compat._today import forget_features

    forget_features()
    yield
    forget_features()
    import comfy.model_management

    comfy.model_management.unload_all_models()
