"""Planner test fixtures: a fake OpenAI-compatible server on 127.0.0.1 (fresh script per test), and the
tiny random local models, built offline once per session in the session's models folder."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai import FakeOpenAI  # noqa: E402
from tiny_llm import build_tiny_llm  # noqa: E402
from tiny_qwen import build_tiny_qwen2_vl  # noqa: E402

#: folder names under models/LLM, as the loader nodes list them
TINY_VLM, TINY_LLM = "tiny-qwen2-vl", "tiny-qwen2-llm"


def _tiny_model(models_dir: Path, name: str, build) -> Path:
    path = models_dir / "LLM" / name
    if not (path / "config.json").exists():
        build(path)
    return path


@pytest.fixture(scope="session")
def tiny_vlm(models_dir: Path) -> Path:
    """A tiny random Qwen2-VL folder (models/LLM/tiny-qwen2-vl)."""
    return _tiny_model(models_dir, TINY_VLM, build_tiny_qwen2_vl)


@pytest.fixture(scope="session")
def tiny_llm(models_dir: Path) -> Path:
    """A tiny random text-only Qwen2 causal LM folder (models/LLM/tiny-qwen2-llm)."""
    return _tiny_model(models_dir, TINY_LLM, build_tiny_llm)


@pytest.fixture(scope="module")
def _server():
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture
def openai_server(_server: FakeOpenAI) -> FakeOpenAI:
    _server.script.clear()
    _server.requests.clear()
    return _server
