"""Shared fixtures: the real ComfyUI host (booted once per session) and a temporary models dir."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

import _harness

EXAMPLES_DIR = _harness.EXAMPLES_DIR
CONFIGS_DIR = _harness.CONFIGS_DIR


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh ComfyUI models folder for this test session (tests write tiny checkpoints here)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session", autouse=True)
def host(models_dir: Path):
    """The real ComfyUI host, imported in-process with --cpu, this pack loaded as a custom node."""
    _harness.boot_host(models_dir)
    return _harness


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    if not EXAMPLES_DIR.is_dir():
        pytest.skip(f"example photos not found at {EXAMPLES_DIR}")
    return EXAMPLES_DIR
