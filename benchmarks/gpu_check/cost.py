"""Part B: per-step cost of BrushNet sampling against plain sampling, full-size architectures."""
from __future__ import annotations

import argparse
import logging
import statistics
import time
from typing import Any

import torch

from benchmarks.gpu_check.compare import DTYPES, Precise, finite, fmt, rel_err, to_dev
from benchmarks.gpu_check.host import comfy_model, fp32_twin, free_memory, patcher, randomize_on, sync
from benchmarks.gpu_check.report import Table, guarded

log = logging.getLogger("BrushEdit")
BENCH = {"sd15": 512, "sdxl": 1024}  # image side per architecture


class PartB:
    """Per-step cost of BrushNet sampling against plain sampling, full-size architectures, random weights."""

    def __init__(self, a: argparse.Namespace, table: Table, harness: Any, dev: torch.device, t0: float) -> None:
        self.a, self.table, self.harness, self.dev, self.t0 = a, table, harness, dev, t0
        from benchmarks import setup_models

        self.sm = setup_models
        self.quick = a.cpu_smoke

    def elapsed(self) -> float:
        return time.perf_counter() - self.t0

    def build(self, arch: str, dtype: torch.dtype, bn_dtype: torch.dtype) -> tuple[Any, Any, dict]:
        full = self.sm.SD15_UNET if arch == "sd15" else self.sm.SDXL_UNET
        unet = dict(self.sm.TINY_UNET[arch] if self.quick else full)
        t = time.perf_counter()
        model = comfy_model(arch, unet, dtype)
        randomize_on(model.diffusion_model, 1, self.dev)
        model.diffusion_model.requires_grad_(False)
        import comfy.model_management as mm
        import comfy.ops

        model.diffusion_model.to(mm.unet_offload_device())  # ComfyUI loads it, as in real use
        base = patcher(model)
        bn_cls = self.harness.pack_module("brushnet_core.branch.model").BrushNetModel
        bn_model = bn_cls(self.sm.brushnet_config(arch, self.quick), ops=comfy.ops.disable_weight_init, dtype=bn_dtype)
        randomize_on(bn_model, 2, self.dev)
        bn_model.eval().requires_grad_(False).to(mm.unet_offload_device())
        bn = self.sm.brushnet_patcher(bn_model)
        log.info("[gpu_check] %s models built in %.1f s", arch, time.perf_counter() - t)
        return base, bn, unet

    def run_once(self, mode: Any, latent: dict, steps: int) -> dict:
        """One sampling run; step times between the sampler's step callbacks (device synchronised)."""
        import comfy.sample

        stamps: list[float] = []

        def callback(step: int, x0: Any, x: Any, total: int) -> None:
            sync(self.dev)
            stamps.append(time.perf_counter())

        latent_image = comfy.sample.fix_empty_latent_channels(mode.model, latent["samples"])
        noise = comfy.sample.prepare_noise(latent_image, 11, None)
        calls0 = mode.runner.calls if mode.runner is not None else 0
        if self.dev.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.dev)
        sync(self.dev)
        start = time.perf_counter()
        out = comfy.sample.sample(mode.model, noise, steps, self.a.cfg, "euler", "normal", mode.positive,
                                  mode.negative, latent_image, denoise=1.0, callback=callback, disable_pbar=True,
                                  seed=11)
        sync(self.dev)
        end = time.perf_counter()
        peak = torch.cuda.max_memory_allocated(self.dev) if self.dev.type == "cuda" else 0
        steps_s = [b - a for a, b in zip(stamps, stamps[1:])]  # the first step also pays set-up: not counted
        return {"total_s": end - start, "step_s": steps_s, "first_s": stamps[0] - start if stamps else None,
                "forwards": (mode.runner.calls - calls0) if mode.runner is not None else 0, "peak": peak,
                "out": out.detach().float().cpu()}

    def arch(self, arch: str) -> None:
        import comfy.model_management as mm

        name = self.a.bench_dtype
        dtype = DTYPES[name]
        loader = self.harness.pack_module("nodes.loader")
        bn_dtype = (loader.pick_dtype("auto", mm.get_torch_device()) if self.a.bench_brushnet_dtype == "auto"
                    else DTYPES[self.a.bench_brushnet_dtype])
        size = 64 if self.quick else BENCH[arch]
        label = f"{name} + BrushNet {str(bn_dtype).replace('torch.', '')}"
        base, bn, unet = self.build(arch, dtype, bn_dtype)
        vae = self.sm.random_vae()
        names = ["plain", "ours", "naive", "inactive"]
        modes, latent, checks = self.sm.build_modes(self.harness, base, vae, bn, arch, self.quick, size, self.a.steps,
                                                    names)
        t = time.perf_counter()
        for m in modes:  # warm-up: loading, cuDNN/cuBLAS heuristics, allocator; not counted
            self.run_once(m, latent, self.a.warmup_steps)
        log.info("[gpu_check] %s warm-up %.1f s", arch, time.perf_counter() - t)
        runs: dict[str, list[dict]] = {m.name: [] for m in modes}
        for r in range(self.a.repeat):
            order = modes[r % len(modes):] + modes[: r % len(modes)]
            for m in order:
                runs[m.name].append(self.run_once(m, latent, self.a.steps))
        med = {k: statistics.median(s for run in v for s in run["step_s"]) for k, v in runs.items()}
        mins = {k: min(s for run in v for s in run["step_s"]) for k, v in runs.items()}
        whole = {k: statistics.median(run["total_s"] / self.a.steps for run in v) for k, v in runs.items()}
        fwd = {k: statistics.median(run["forwards"] for run in v) / self.a.steps for k, v in runs.items()}
        peak = {k: max(run["peak"] for run in v) / 2**30 for k, v in runs.items()}
        ours, naive, plain, inactive = (runs[k][-1]["out"] for k in ("ours", "naive", "plain", "inactive"))
        agree = rel_err(ours, naive)
        inactive_exact = torch.equal(inactive, plain)
        plain_repeats = all(torch.equal(run["out"], plain) for run in runs["plain"])  # is the device reproducible?
        differs = not torch.equal(ours, plain)
        px = f"{size} px"
        cell = arch
        self.table.put(f"s/step plain / ours / naive (median, {self.a.steps} steps, CFG)", label, cell,
                       f"{px}: {med['plain'] * 1e3:.1f} / {med['ours'] * 1e3:.1f} / {med['naive'] * 1e3:.1f} ms",
                       raw={"median_s": med, "min_s": mins, "whole_run_per_step_s": whole})
        ratio = med["ours"] / med["plain"]
        self.table.put("ratio ours / plain per step (median; min)", label, cell,
                       f"**{ratio:.3f}**; {mins['ours'] / mins['plain']:.3f}",
                       raw={"median": ratio, "min": mins["ours"] / mins["plain"],
                            "whole_run": whole["ours"] / whole["plain"]})
        self.table.put("ratio naive / plain; inactive / plain", label, cell,
                       f"{med['naive'] / med['plain']:.3f}; {med['inactive'] / med['plain']:.3f}")
        fwd_ok = fwd["ours"] == 1 and fwd["naive"] == 1 and fwd["inactive"] == 0
        self.table.put("branch forwards per step: ours, naive, inactive", label, cell,
                       f"{fwd['ours']:g}, {fwd['naive']:g}, {fwd['inactive']:g}", "ok" if fwd_ok else "FAIL", "1, 1, 0")
        if self.dev.type == "cuda":
            self.table.put("peak GPU memory plain / ours", label, cell, f"{peak['plain']:.2f} / {peak['ours']:.2f} GiB")
        scale0 = bool(checks.get("scale0_returns_input_model", False))
        hard_ok = (inactive_exact or not plain_repeats) and differs and scale0
        status = "FAIL" if not hard_ok else ("ok" if agree <= 2e-2 else "high")
        inactive_text = str(inactive_exact) if plain_repeats or inactive_exact else "n/a (plain runs differ)"
        self.table.put("ours = naive (rel, after all steps); inactive = plain (bit); scale 0 = input model", label,
                       cell, f"{fmt(agree)}; {inactive_text}; {scale0}", status, "<= 2e-2; True; True",
                       raw={"ours_vs_naive": agree, "inactive_equals_plain": inactive_exact,
                            "plain_runs_bit_identical": plain_repeats, "ours_differs_from_plain": differs})
        if not self.a.no_full_ref:
            budget_left = self.a.budget_s - self.elapsed()
            need = 25 if arch == "sd15" else 60
            if self.quick or budget_left > need:
                guarded(self.table, "full size: one model call vs fp32 reference (ours; plain)", label, cell,
                        lambda: self.full_ref(arch, base, bn, vae, modes, unet, size, label))
            else:
                self.table.put("full size: one model call vs fp32 reference (ours; plain)", label, cell,
                               f"skipped ({budget_left:.0f} s of budget left)", "skipped")
        del modes, base, bn, vae
        free_memory()

    def full_ref(self, arch: str, base: Any, bn: Any, vae: Any, modes: list, unet: dict, size: int, label: str) -> None:
        """Ours at full size, one CFG model call, against the fp32 reference on the same weights."""
        from injection import _setup as s

        image, mask = self.sm.image_and_mask(size)
        positive, negative = self.sm.text_conds(arch, self.quick, size)
        ours = next(m for m in modes if m.name == "ours")
        sigma, cfg = 3.0, 4.5
        latent = torch.zeros(1, 4, size // 8, size // 8)
        noise = torch.randn(latent.shape, generator=torch.Generator().manual_seed(0))
        _, got = s.one_step(ours.model, ours.positive, ours.negative, latent, sigma, cfg)
        _, plain = s.one_step(base, positive, negative, latent, sigma, cfg)
        free_memory()
        twin = fp32_twin(base, arch, unet, self.dev)
        bn_sd = {k: v.detach().float().to(self.dev) for k, v in bn.model.state_dict().items()}
        cond = s.conditioning_reference(vae, image, mask, arch)
        with Precise(), torch.device(self.dev), torch.no_grad():
            want = s.reference_denoised(twin, bn_sd, arch, (noise * sigma).to(self.dev), sigma, cfg,
                                        to_dev(positive, self.dev), to_dev(negative, self.dev), cond.to(self.dev), 1.0)
            want_plain = s.reference_denoised(twin, None, arch, (noise * sigma).to(self.dev), sigma, cfg,
                                              to_dev(positive, self.dev), to_dev(negative, self.dev), None, 1.0)
        err, floor = rel_err(got, want), rel_err(plain, want_plain)
        status = "FAIL" if not finite(got) else ("ok" if err <= max(4 * floor, 1e-5) else "high")
        self.table.put("full size: one model call vs fp32 reference (ours; plain)", label, arch,
                       f"{size} px: {fmt(err)}; {fmt(floor)}", status, "4x plain",
                       raw={"ours": err, "plain": floor})
        del twin, bn_sd

    def run(self) -> None:
        for i, arch in enumerate(self.a.arch_names):
            if i and not self.quick and self.elapsed() > self.a.budget_s - 90:
                self.table.put("ratio ours / plain per step (median; min)", self.a.bench_dtype, arch,
                               f"skipped ({self.a.budget_s - self.elapsed():.0f} s of budget left)", "skipped")
                continue
            guarded(self.table, "ratio ours / plain per step (median; min)", self.a.bench_dtype, arch,
                    lambda arch=arch: self.arch(arch))
