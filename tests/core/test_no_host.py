"""Core tests run without the host: a session of core tests only never imports ComfyUI.

The tests in this folder run again in a fresh pytest with ComfyUI's modules made unimportable
(``conftest.NO_COMFY_ENV``); the session fails if any ComfyUI module was imported. The tests that
start their own interpreter are left out of that run (nothing of theirs is in-process).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
NO_COMFY_ENV = "BRUSHEDIT_TEST_NO_COMFY"
OWN_INTERPRETER = [
    "core/test_no_host.py",
    "core/test_boundaries.py::test_core_imports_without_comfyui_in_a_fresh_interpreter",
    "core/test_security_policy.py::test_importing_the_pack_like_comfyui_opens_no_socket",
]


@pytest.mark.skipif(os.environ.get(NO_COMFY_ENV) == "1", reason="this is the guard's own run")
def test_core_tests_pass_with_comfyui_unimportable() -> None:
    deselect = [arg for nodeid in OWN_INTERPRETER for arg in ("--deselect", nodeid)]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-c", "pytest.ini", "--rootdir", ".", "-p", "no:cacheprovider", "-q",
         "core", *deselect],
        cwd=str(TESTS), env={**os.environ, NO_COMFY_ENV: "1"}, capture_output=True, text=True, timeout=600)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    assert "[no-host]" in out and "ComfyUI modules imported: none" in out, out[-4000:]
    passed = re.search(r"(\d+) passed", out)
    assert passed and int(passed.group(1)) >= 10, out[-2000:]
