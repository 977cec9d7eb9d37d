"""BrushNet sampling cost against plain sampling and the naive BrushNet, in one interleaved run.

    .host/venv/bin/python -m benchmarks.run                          # SD1.5, 512 px, 4 steps, 2 repeats
    .host/venv/bin/python -m benchmarks.run --arch sdxl --size 768   # SDXL
    .host/venv/bin/python -m benchmarks.run --quick                  # tiny models, seconds (CI smoke)
    .host/venv/bin/python -m benchmarks.run --profile                # + torch.profiler of one BrushNet step

Modes, all on the same graph (only the BrushNet node added), same seed, KSampler euler/normal:
plain (base model), ours (the BrushNet node), naive (branch on the whole cond+uncond batch at
every call, as the official pipeline and the earlier pack do; benchmark-only runner) and inactive
(BrushNet attached with start_at = steps: never active). Also times the branch alone (B1/B2:
eager fp32 forward on batch 1/2, reference out-of-place and the runtime in-place resnets) and loading a
single-file fp16 BrushNet through nodes/loader.load_brushnet against reading the file.
Prints a text table and a markdown table; writes JSON to benchmarks/results/. Not a test.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import torch

from . import measure, report, setup_models

log = logging.getLogger("BrushEdit")
RESULTS = Path(__file__).resolve().parent / "results"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arch", choices=["sd15", "sdxl"], default="sd15")
    p.add_argument("--size", type=int, default=None, help="image side in pixels (512 SD1.5, 1024 SDXL)")
    p.add_argument("--steps", type=int, default=4)
    p.add_argument("--cfg", type=float, default=7.5)
    p.add_argument("--repeat", type=int, default=2, help="interleaved repeats of every mode")
    p.add_argument("--modes", default="plain,ours,naive,inactive", help="comma-separated subset")
    p.add_argument("--warmup", type=int, default=1,
                   help="untimed sampling steps of every mode first (page faults, allocator), so no mode pays them")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (1: on a shared 2-core machine 2 OpenMP threads lose to 1)")
    p.add_argument("--no-load", action="store_true", help="skip the loader benchmark (no fp16 file written)")
    p.add_argument("--profile", action="store_true", help="torch.profiler of one 'ours' sampling step")
    p.add_argument("--quick", action="store_true", help="tiny models, 1 repeat, 2 steps; asserts nothing about time")
    p.add_argument("--out", type=Path, default=None, help="JSON path (default benchmarks/results/<arch>_<size>.json)")
    a = p.parse_args(argv)
    if a.quick:
        a.size, a.steps, a.repeat, a.warmup = a.size or 64, min(a.steps, 2), 1, 0
    a.size = a.size or (512 if a.arch == "sd15" else 1024)
    if a.size % 8:
        p.error("--size must be a multiple of 8")
    a.mode_names = [m.strip() for m in a.modes.split(",") if m.strip()]
    return a


def _read_file(path: Path, size: int) -> int:
    buf = bytearray(size)
    with path.open("rb", buffering=0) as f:
        return f.readinto(buf)


def bench_loader(harness: Any, bn_model: torch.nn.Module, work: Path, repeat: int) -> tuple[dict, Any]:
    """Time load_brushnet on a single-file fp16 BrushNet vs reading its bytes; return the loaded patcher."""
    import demo.random_models as rm

    path = work / "brushnet_fp16.safetensors"
    rm.save_brushnet(bn_model, path, fmt="safetensors", dtype=torch.float16)
    size = path.stat().st_size
    loader = harness.pack_module("nodes.loader")
    read, load, patcher = measure.Series(), measure.Series(), None
    for i in range(repeat + 1):  # round 0 warms the page cache and is not counted
        _, s_read = measure.timed(_read_file, path, size)
        patcher = None  # free the previous copy before loading again
        patcher, s_load = measure.timed(loader.load_brushnet, str(path), "auto")
        if i:
            read.add(s_read)
            load.add(s_load)
    out = {"file_bytes": size, "read": read.as_dict(), "load_brushnet_auto": load.as_dict(),
           "dtype": str(next(patcher.model.parameters()).dtype), "ratio_min": round(load.min / read.min, 3)}
    return out, patcher


def bench_branch(bn_model: torch.nn.Module, arch: str, latent_hw: tuple[int, int], series: dict, rounds: int = 3) -> None:
    """B1/B2: one eager fp32 branch forward on batch 1 and 2 (reference: out-of-place, every layer
    by its own conv; ours: the runtime path, in place with small maps by matmul). ``rounds``
    alternations of reference and ours, so machine drift hits both alike."""
    h, w = latent_hw
    g = torch.Generator().manual_seed(3)
    for batch in (1, 2):
        x, cond = torch.randn(batch, 4, h, w, generator=g), torch.randn(batch, 5, h, w, generator=g)
        t = torch.full((batch,), 500.0)
        added = torch.randn(batch, 2816, generator=g) if arch == "sdxl" else None
        for _ in range(rounds):
            for variant, fast in (("ref", False), ("ours", True)):
                previous = bn_model.inplace_inference
                bn_model.inplace_inference = fast
                try:
                    with torch.inference_mode():
                        _, s = measure.timed(bn_model, x, t, cond, added=added)
                finally:
                    bn_model.inplace_inference = previous
                series.setdefault(f"B{batch}_{variant}", measure.Series()).add(s)


class _BranchClock:
    """Sums the time spent in the runners' ``prepare`` and in the branch forward, per sampling run."""

    def __init__(self, model: torch.nn.Module, runners: list[Any]) -> None:
        self.prepare = self.forward = 0.0
        self._t0 = 0.0
        for runner in runners:
            runner.prepare = self._timing(runner.prepare)
        model.register_forward_pre_hook(lambda *_: setattr(self, "_t0", time.perf_counter()))
        model.register_forward_hook(lambda *_: setattr(self, "forward", self.forward + time.perf_counter() - self._t0))

    def _timing(self, prepare: Any) -> Any:
        def timed_prepare(*args: Any, **kwargs: Any) -> None:
            start = time.perf_counter()
            try:
                return prepare(*args, **kwargs)
            finally:
                self.prepare += time.perf_counter() - start

        return timed_prepare

    def take(self) -> dict:
        """The sums since the last call (``prepare`` includes ``forward``), then reset."""
        out = {"prepare_s": round(self.prepare, 4), "forward_s": round(self.forward, 4)}
        self.prepare = self.forward = 0.0
        return out


def profile_step(mode: Any, latent: dict, cfg: float) -> dict:
    """torch.profiler over one 'ours' sampling step: top ops by self CPU time."""
    import nodes
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        nodes.common_ksampler(mode.model, 11, 1, cfg, "euler", "normal", mode.positive, mode.negative, latent)
    rows = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)[:20]
    total = sum(e.self_cpu_time_total for e in prof.key_averages()) or 1
    return {"total_s": round(total / 1e6, 3), "top_ops": [
        {"op": e.key, "calls": e.count, "self_s": round(e.self_cpu_time_total / 1e6, 3),
         "share": round(e.self_cpu_time_total / total, 4)} for e in rows]}


def main(argv: list[str] | None = None) -> dict:
    a = parse_args(argv)
    torch.set_num_threads(max(1, a.threads))
    work = Path(tempfile.mkdtemp(prefix="brushedit_bench_"))
    try:
        return _run(a, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _run(a: argparse.Namespace, work: Path) -> dict:
    t_start = time.perf_counter()
    harness = setup_models.boot(work)
    import nodes

    result: dict[str, Any] = {"arch": a.arch, "size": a.size, "steps": a.steps, "cfg": a.cfg, "repeat": a.repeat,
                              "warmup_steps": a.warmup,
                              "quick": a.quick, "threads": torch.get_num_threads(), "torch": torch.__version__,
                              "machine": platform.processor() or platform.machine(), "load_before": measure.cpu_load()}
    base = setup_models.base_model(a.arch, a.quick)
    bn_model = setup_models.random_brushnet(harness, a.arch, a.quick)
    result["params"] = {"unet": sum(p.numel() for p in base.model.diffusion_model.parameters()),
                        "brushnet": sum(p.numel() for p in bn_model.parameters())}
    if a.no_load:
        bn = setup_models.brushnet_patcher(bn_model)
    else:
        result["loader"], bn = bench_loader(harness, bn_model, work, a.repeat)
        del bn_model
    bn_model = bn.model
    weight_bytes = sum(p.numel() * p.element_size() for p in bn_model.parameters())
    log.info("[BrushEdit] bench: models ready after %.0f s; building the modes (one VAE encode)",
             time.perf_counter() - t_start)
    modes, latent, checks = setup_models.build_modes(harness, base, setup_models.random_vae(), bn, a.arch, a.quick,
                                                     a.size, a.steps, a.mode_names)
    clock = _BranchClock(bn_model, [m.runner for m in modes if m.runner is not None])
    series: dict[str, measure.Series] = {m.name: measure.Series() for m in modes}
    branch_series: dict[str, measure.Series] = {}
    outputs: dict[str, torch.Tensor] = {}
    extra: dict[str, list] = {m.name: [] for m in modes}
    if a.warmup > 0:
        for m in modes:
            _, s = measure.timed(nodes.common_ksampler, m.model, 11, a.warmup, a.cfg, "euler", "normal",
                                 m.positive, m.negative, latent)
            log.info("[BrushEdit] bench %s warm-up (%d step, not counted): %.2f s", m.name, a.warmup, s.seconds)
        bench_branch(bn_model, a.arch, tuple(latent["samples"].shape[-2:]), {}, rounds=1)
    for r in range(a.repeat):
        order = modes[r % len(modes):] + modes[: r % len(modes)]  # rotate: no mode always runs first
        for m in order:
            calls0 = m.runner.calls if m.runner is not None else 0
            clock.take()
            out, s = measure.timed(nodes.common_ksampler, m.model, 11, a.steps, a.cfg, "euler", "normal",
                                   m.positive, m.negative, latent)
            series[m.name].add(s)
            outputs[m.name] = out[0]["samples"]
            info = {"brushnet_forwards": (m.runner.calls - calls0) if m.runner is not None else 0, **clock.take()}
            extra[m.name].append(info)
            log.info("[BrushEdit] bench %s repeat %d: %.2f s (%s)", m.name, r, s.seconds, measure.cpu_load())
        bench_branch(bn_model, a.arch, tuple(latent["samples"].shape[-2:]), branch_series, rounds=1 if a.quick else 3)
        log.info("[BrushEdit] bench branch alone after repeat %d: %s", r,
                 ", ".join(f"{k} {v.samples[-1].seconds:.2f} s" for k, v in branch_series.items()))
        result.update(_assemble(a, series, extra, branch_series, outputs, checks, weight_bytes))
        result["summary"] = report.summarize(result)
        result["partial"] = r < a.repeat - 1  # written after every repeat: a cut-off run leaves data
        out_path = _write(a, result)
    if a.profile and "ours" in series:
        result["profile"] = profile_step(next(m for m in modes if m.name == "ours"), latent, a.cfg)
    result["wall_s"] = round(time.perf_counter() - t_start, 1)
    out_path = _write(a, result)
    print(report.text_table(result))
    print()
    print(report.markdown_table(result))
    print(f"\nJSON: {out_path}")
    return result


def _assemble(a: argparse.Namespace, series: dict, extra: dict, branch_series: dict, outputs: dict, checks: dict,
              weight_bytes: int) -> dict:
    result = {"load_after": measure.cpu_load(), "brushnet_weight_bytes": weight_bytes,
              "modes": {name: {**s.as_dict(), "per_step_min": round(s.min / a.steps, 4), "runs": extra[name]}
                        for name, s in series.items()},
              "branch": {k: v.as_dict() for k, v in branch_series.items()},
              "checks": {**checks, **_agreement(outputs)}}
    return result


def _write(a: argparse.Namespace, result: dict) -> Path:
    out_path = a.out or RESULTS / f"{a.arch}_{a.size}{'_quick' if a.quick else ''}.json"
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(result, indent=2))
    return out_path


def _agreement(outputs: dict[str, torch.Tensor]) -> dict:
    """Ours must equal naive (to float rounding) and inactive must equal plain (bit for bit)."""
    checks: dict[str, Any] = {}
    if "ours" in outputs and "naive" in outputs:
        a, b = outputs["ours"].float(), outputs["naive"].float()
        checks["ours_vs_naive_rel_err"] = float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))
    if "inactive" in outputs and "plain" in outputs:
        checks["inactive_equals_plain"] = bool(torch.equal(outputs["inactive"], outputs["plain"]))
    if "ours" in outputs and "plain" in outputs:
        checks["ours_differs_from_plain"] = not torch.equal(outputs["ours"], outputs["plain"])
    return checks


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    main()
