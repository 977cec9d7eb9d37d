"""Shared fixtures: the real ComfyUI host (booted once per session, when a test needs it) and a models dir.

Pure core tests do not boot the host. A test is *core* when it lies in ``tests/core/`` or its module
says ``pytestmark = pytest.mark.core``; it may import ``brushnet_core`` (and torch) but nothing of
ComfyUI. A session whose tests are all core never imports ComfyUI (``core/test_no_host.py`` proves
it in a fresh interpreter); a session with any other test boots the host before its first test, as
before, so session fixtures of host tests always find ComfyUI's folders set up.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

import _harness

EXAMPLES_DIR = _harness.EXAMPLES_DIR
CONFIGS_DIR = _harness.CONFIGS_DIR
CORE_DIR = Path(__file__).resolve().parent / "core"
#: set by the no-host guard: ComfyUI's modules become unimportable and the session must stay core-only
NO_COMFY_ENV = "BRUSHEDIT_TEST_NO_COMFY"
COMFY_MODULES = ("comfy", "comfy_api", "comfy_execution", "comfy_extras", "comfy_api_nodes", "folder_paths",
                 "nodes", "server", "execution", "node_helpers", "latent_preview", "main")


def comfy_modules_loaded() -> list[str]:
    """ComfyUI's top-level modules present in ``sys.modules`` (``nodes`` may also be this pack's own)."""
    return sorted(name for name in sys.modules if name.split(".")[0] in COMFY_MODULES)


class _BlockComfy:
    """A meta-path finder that refuses ComfyUI's modules (installed only under the no-host guard)."""

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in COMFY_MODULES:
            raise ImportError(f"a core test imported ComfyUI ({name}); mark it as a host test or drop the import")
        return None


def is_core(item: pytest.Item) -> bool:
    return item.get_closest_marker("core") is not None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "core: pure core test (brushnet_core and torch only); the host is not booted")
    if os.environ.get(NO_COMFY_ENV) == "1":
        sys.meta_path.insert(0, _BlockComfy())


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Everything under tests/core/ is core (before ``-m`` selects)."""
    for item in items:
        if CORE_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.core)


def pytest_collection_finish(session: pytest.Session) -> None:
    if os.environ.get(NO_COMFY_ENV) == "1":
        host_tests = [item.nodeid for item in session.items if not is_core(item)]
        if host_tests:
            raise pytest.UsageError(f"{NO_COMFY_ENV}=1 runs core tests only; these need the host: {host_tests[:5]}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get(NO_COMFY_ENV) == "1":
        loaded = comfy_modules_loaded()
        print(f"\n[no-host] {len(session.items)} core tests; ComfyUI modules imported: {loaded or 'none'}")
        if loaded:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    """Every skip reason once, with its count, as the last lines (whatever ``-r`` says)."""
    reasons: dict[str, int] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
        reason = reason.removeprefix("Skipped: ")
        reasons[reason] = reasons.get(reason, 0) + 1
    if reasons:
        terminalreporter.write_sep("-", f"{sum(reasons.values())} skipped, by reason")
        for reason, count in sorted(reasons.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{count:4d}  {reason}")


@pytest.fixture(scope="session")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh ComfyUI models folder for this test session (tests write tiny checkpoints here)."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session", autouse=True)
def host(request: pytest.FixtureRequest, models_dir: Path):
    """The real ComfyUI host, imported in-process with --cpu, this pack loaded as a custom node.

    Booted before the first test of any session that holds a non-core test (autouse and session
    scope, so it comes before every other session fixture); ``None`` in a session of core tests only.
    """
    if all(is_core(item) for item in request.session.items):
        return None
    _harness.boot_host(models_dir)
    return _harness


@pytest.fixture(scope="session")
def examples_dir() -> Path:
    if not EXAMPLES_DIR.is_dir():
        pytest.skip(f"example photos not found at {EXAMPLES_DIR}")
    return EXAMPLES_DIR
