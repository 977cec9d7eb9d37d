"""Planner test fixtures: a fake OpenAI-compatible server on 127.0.0.1 (fresh script per test)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai import FakeOpenAI  # noqa: E402


@pytest.fixture(scope="module")
def _server():
    with FakeOpenAI() as srv:
        yield srv


@pytest.fixture
def openai_server(_server: FakeOpenAI) -> FakeOpenAI:
    _server.script.clear()
    _server.requests.clear()
    return _server
