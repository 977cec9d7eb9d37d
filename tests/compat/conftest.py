"""Contract tests change the host's behaviour per test: forget the detected features after each."""
from __future__ import annotations

import pytest

import _harness


@pytest.fixture(autouse=True)
def fresh_host_features():
    from compat._today import forget_features

    forget_features()
    yield
    forget_features()
