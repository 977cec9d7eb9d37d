"""Smoke test: `python -m benchmarks.run --quick` still runs end to end (nothing about time is asserted)."""
from __future__ import annotations

import json
from pathlib import Path


def _quick(tmp_path: Path, *extra: str) -> dict:
    from benchmarks import run

    out = tmp_path / "quick.json"
    run.main(["--quick", "--out", str(out), *extra])
    return json.loads(out.read_text())


def test_quick_sd15_benchmark_runs_every_mode_and_writes_json(tmp_path: Path) -> None:
    result = _quick(tmp_path)
    assert set(result["modes"]) == {"plain", "ours", "naive", "inactive"}
    assert set(result["summary"]["ratios"]) == set(result["modes"])
    assert {"floor", "naive_floor", "memory", "loader_ratio"} <= set(result["summary"])
    assert {"B1_ref", "B2_ref", "B1_ours", "B2_ours"} <= set(result["branch"])


def test_quick_sd15_benchmark_modes_do_what_they_claim(tmp_path: Path) -> None:
    result = _quick(tmp_path, "--no-load")
    steps = result["steps"]
    forwards = {name: mode["runs"][0]["brushnet_forwards"] for name, mode in result["modes"].items()}
    assert forwards == {"plain": 0, "ours": steps, "naive": steps, "inactive": 0}
    checks = result["checks"]
    assert checks["scale0_returns_input_model"] and checks["inactive_equals_plain"]
    assert checks["ours_differs_from_plain"] and checks["ours_vs_naive_rel_err"] <= 1e-5


def test_quick_sdxl_benchmark_runs(tmp_path: Path) -> None:
    result = _quick(tmp_path, "--arch", "sdxl", "--no-load", "--modes", "plain,ours,naive")
    assert result["checks"]["ours_vs_naive_rel_err"] <= 1e-5
    assert result["summary"]["ratios"]["ours"]["min"] > 0
