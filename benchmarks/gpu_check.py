"""One prepared GPU check: BrushNet against the fp32 reference in each dtype, and its sampling cost.

    bash scripts/gpu_check.sh prepare       # here: wheels + a trimmed ComfyUI copy into .whl/ (git-ignored)
    bash scripts/gpu_check.sh               # on the CUDA machine (carry .whl): installs the wheels, runs this
    .host/venv/bin/python -m benchmarks.gpu_check --cpu-smoke   # here: the same code paths, tiny, on the CPU

Part A, the tests on the device, in every dtype of ``--dtypes`` (fp32, fp16, bf16), tiny models as in
tests/_models.py (the same seeds): the BrushNet Loader node (cast once, bit-exact, placed on the device by
ComfyUI), the branch alone, one model call through ComfyUI's sampling path (CFG, scale 0.7 and 1.0) and a
3-step KSampler run. Each is compared with the independent fp32 reference of tests/_reference.py run on
the same weights (the low-precision weights upcast), on the device, TF32 off. The same comparison of the
plain model (no BrushNet) is printed beside it: the error the dtype alone gives the base UNet, so the
BrushNet error can be judged against it.

Part B, the cost: per-step time of plain, ours, naive and inactive sampling at 512 px with the full-size
SD1.5 architecture and at 1024 px with SDXL (random non-zero weights), the same graph and modes as
benchmarks/run.py (``setup_models.build_modes``), interleaved repeats after a warm-up; step times are read
between the sampler's step callbacks after a device synchronise, so model loading and conditioning set-up
are not counted. Then one full-size model call of ours against the fp32 reference.

Prints one markdown table at the end and writes it to $OUT/gpu_check.md (+ gpu_check.json) when $OUT is
set, else to out/. The files are rewritten after every result, so a run cut off by a time limit still
leaves what it measured. Exit status: 0 all hard checks passed, 1 a check failed or raised, 2 no CUDA.
"""
from __future__ import annotations

import argparse
import asyncio
import copy
import gc
import json
import logging
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable

import torch

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"
log = logging.getLogger("BrushEdit")

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
LOADER_NAMES = {"fp32": "float32", "fp16": "float16", "bf16": "bfloat16"}
EPS = {"fp32": 1.2e-7, "fp16": 9.8e-4, "bf16": 7.8e-3}  # unit roundoff
KINDS = ("sd15", "sdxl")
BENCH = {"sd15": 512, "sdxl": 1024}
STATUS_ORDER = ["", "ok", "high", "skipped", "ERROR", "FAIL"]


def comfy_dir() -> Path:
    """The ComfyUI tree: $BRUSHEDIT_COMFY_DIR, else the bundled copy in .whl/, else .host/ComfyUI."""
    env = os.environ.get("BRUSHEDIT_COMFY_DIR")
    if env:
        return Path(env)
    bundled = ROOT / ".whl" / "ComfyUI"
    return bundled if (bundled / "main.py").exists() else ROOT / ".host" / "ComfyUI"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cpu-smoke", action="store_true",
                   help="no GPU needed: every code path at tiny sizes on the CPU (proves the script, measures nothing)")
    p.add_argument("--dtypes", default="fp32,fp16,bf16", help="dtypes of part A (fp32 is the exactness baseline)")
    p.add_argument("--bench-dtype", default=None, choices=list(DTYPES),
                   help="UNet dtype of part B (default fp16, ComfyUI's default for SD1.5/SDXL on NVIDIA; "
                        "fp32 with --cpu-smoke)")
    p.add_argument("--bench-brushnet-dtype", default="auto", choices=["auto", *DTYPES],
                   help="BrushNet dtype of part B (auto: what the BrushNet Loader picks on this device)")
    p.add_argument("--archs", default="sd15,sdxl", help="part B architectures (sd15 at 512 px, sdxl at 1024 px)")
    p.add_argument("--steps", type=int, default=20, help="sampling steps per timed run (part B)")
    p.add_argument("--repeat", type=int, default=3, help="interleaved timed runs of every mode (part B)")
    p.add_argument("--cfg", type=float, default=7.5)
    p.add_argument("--skip-tests", action="store_true", help="part B only")
    p.add_argument("--skip-bench", action="store_true", help="part A only")
    p.add_argument("--no-full-ref", action="store_true", help="skip the full-size model call against the reference")
    p.add_argument("--budget-s", type=float, default=330.0,
                   help="wall-clock budget: optional parts (full-size reference, later architectures) are skipped "
                        "when the time spent would overrun it")
    p.add_argument("--out", type=Path, default=None, help="folder for gpu_check.md/.json (default $OUT, else out/)")
    a = p.parse_args(argv)
    a.dtype_names = [d.strip() for d in a.dtypes.split(",") if d.strip()]
    a.arch_names = [x.strip() for x in a.archs.split(",") if x.strip()]
    for d in a.dtype_names:
        if d not in DTYPES:
            p.error(f"unknown dtype {d}: use {', '.join(DTYPES)}")
    if a.cpu_smoke:
        a.steps, a.repeat = min(a.steps, 3), 1
    a.bench_dtype = a.bench_dtype or ("fp32" if a.cpu_smoke else "fp16")
    a.warmup_steps = 1 if a.cpu_smoke else 2
    out = a.out or (Path(os.environ["OUT"]) if os.environ.get("OUT") else ROOT / "out")
    a.out_dir = out
    return a


# --------------------------------------------------------------------------------------------- host boot
def boot(models_dir: Path, cpu: bool) -> Any:
    """The real ComfyUI in-process, as tests/_harness.boot_host does, but on the GPU when ``cpu`` is False.

    _harness pins ``--cpu`` for the test suite; this is the same sequence with the device left to
    ComfyUI (args.cpu stays False: ComfyUI picks CUDA). The pack is loaded from the repository root
    (no custom_nodes link needed in the carried tree) and _harness is told its module name, so the
    test helpers' ``pack_module`` finds it.
    """
    os.environ.setdefault("BRUSHEDIT_COMFY_DIR", str(comfy_dir()))
    if str(TESTS) not in sys.path:
        sys.path.append(str(TESTS))
    import _harness  # noqa: E402  (puts ComfyUI first on sys.path, the repository root last)

    if not (_harness.COMFY_DIR / "main.py").exists():
        raise RuntimeError(f"ComfyUI not found at {_harness.COMFY_DIR}: run `bash scripts/gpu_check.sh prepare` here")
    from comfy.cli_args import args

    args.cpu = cpu
    args.disable_xformers = True
    import folder_paths

    folder_paths.models_dir = str(models_dir)
    for _name, (paths, _exts) in list(folder_paths.folder_names_and_paths.items()):
        sub = Path(paths[0]).name if paths else _name
        paths.insert(0, str(models_dir / sub))
    for d in ("_output", "_output/temp", "_input"):
        (models_dir / d).mkdir(parents=True, exist_ok=True)
    folder_paths.set_output_directory(str(models_dir / "_output"))
    folder_paths.set_temp_directory(str(models_dir / "_output" / "temp"))
    folder_paths.set_input_directory(str(models_dir / "_input"))
    import utils.extra_config  # noqa: F401  (as main.py does: binds `utils` to ComfyUI's package)
    import utils.install_util  # noqa: F401
    import nodes

    asyncio.run(nodes.init_extra_nodes(init_custom_nodes=False, init_api_nodes=False))
    if not asyncio.run(nodes.load_custom_node(str(ROOT))):
        raise RuntimeError("ComfyUI failed to load the ComfyUI-BrushEdit pack (see log above)")
    _harness.PACK_MODULE = str(ROOT).replace(".", "_x_")  # how load_custom_node named it
    _harness._booted = True  # run_prompt must not boot again (with --cpu)
    import comfy.utils

    comfy.utils.PROGRESS_BAR_ENABLED = False
    return _harness


# --------------------------------------------------------------------------------------------- result table
@dataclass
class Row:
    part: str
    dtype: str
    cells: dict = field(default_factory=dict)
    status: dict = field(default_factory=dict)
    limit: str = ""
    raw: dict = field(default_factory=dict)

    @property
    def worst(self) -> str:
        return max(self.status.values(), key=STATUS_ORDER.index, default="")


class Table:
    """The result table; rewritten to disk after every cell so a cut-off run leaves what it has."""

    def __init__(self, out_dir: Path, header: dict) -> None:
        self.out_dir, self.header = out_dir, header
        self.rows: dict[tuple[str, str], Row] = {}
        self.out_dir.mkdir(parents=True, exist_ok=True)

    def put(self, part: str, dtype: str, kind: str, text: str, status: str = "", limit: str = "",
            raw: Any = None) -> None:
        row = self.rows.setdefault((part, dtype), Row(part, dtype))
        row.cells[kind], row.status[kind] = text, status
        if limit:
            row.limit = limit
        if raw is not None:
            row.raw[kind] = raw
        log.info("[gpu_check] %5.1f s  %s | %s | %s: %s %s", time.perf_counter() - self.header["_t0"], part, dtype,
                 kind, text, status)
        self.flush()

    @property
    def failed(self) -> bool:
        return any(r.worst in ("FAIL", "ERROR") for r in self.rows.values())

    def markdown(self) -> str:
        h = self.header
        lines = [f"## BrushEdit GPU check: {h['device']}",
                 "",
                 f"torch {h['torch']}, ComfyUI {h['comfyui']}, python {h['python']}; "
                 f"{h['mode']}; wall {time.perf_counter() - h['_t0']:.0f} s",
                 "",
                 "| check | dtype | SD1.5 | SDXL | limit | status |",
                 "|---|---|---|---|---|---|"]
        for r in self.rows.values():
            lines.append(f"| {r.part} | {r.dtype} | {r.cells.get('sd15', '')} | {r.cells.get('sdxl', '')} | "
                         f"{r.limit} | {r.worst} |")
        lines += ["", "Errors: max |ours - reference| / max |reference| over the output; reference = "
                      "tests/_reference.py in fp32 on the same (dtype-rounded) weights, on the device; TF32 off in "
                      "part A (both sides). "
                      "'plain' rows: the base UNet alone in that dtype against the same reference (the dtype's own "
                      "error). limit: 'high' above it (informative); FAIL/ERROR are hard failures. "
                      "Part B: s/step = median time between sampler step callbacks (device synchronised), "
                      "CFG batch; ratio = mode / plain."]
        return "\n".join(lines) + "\n"

    def flush(self) -> None:
        try:
            (self.out_dir / "gpu_check.md").write_text(self.markdown())
            data = {"header": {k: v for k, v in self.header.items() if not k.startswith("_")},
                    "rows": [{"check": r.part, "dtype": r.dtype, "cells": r.cells, "status": r.status,
                              "limit": r.limit, "raw": r.raw} for r in self.rows.values()]}
            (self.out_dir / "gpu_check.json").write_text(json.dumps(data, indent=2, default=str))
        except OSError as err:  # never let the report kill the check
            log.warning("[gpu_check] could not write the report: %s", err)


def guarded(table: Table, part: str, dtype: str, kind: str, fn: Callable[[], None]) -> None:
    """Run one check; an exception becomes an ERROR cell (traceback in the log), never a crash."""
    try:
        fn()
    except Exception as err:  # noqa: BLE001 - the report must go on
        traceback.print_exc()
        msg = f"{type(err).__name__}: {err}".replace("|", "/").replace("\n", " ")
        table.put(part, dtype, kind, msg[:110], "ERROR")


# --------------------------------------------------------------------------------------------- helpers
def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def finite(*ts: torch.Tensor) -> bool:
    return all(bool(torch.isfinite(t).all()) for t in ts)


def fmt(x: float) -> str:
    return f"{x:.1e}" if x else "0"


def to_dev(conds: list, dev: torch.device) -> list:
    """Conditioning lists with every tensor moved to ``dev`` (the reference runs there)."""
    out = []
    for ctx, opts in conds:
        out.append([ctx.to(dev), {k: (v.to(dev) if torch.is_tensor(v) else v) for k, v in opts.items()}])
    return out


def sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def free_memory() -> None:
    import comfy.model_management as mm

    mm.unload_all_models()
    gc.collect()
    mm.soft_empty_cache()


class Precise:
    """TF32 off for fp32 matmuls and convolutions while the reference runs (restored after)."""

    def __enter__(self) -> "Precise":
        self.saved = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        return self

    def __exit__(self, *exc: Any) -> None:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = self.saved


@torch.no_grad()
def randomize_on(module: torch.nn.Module, seed: int, device: torch.device) -> torch.nn.Module:
    """demo.random_weights' values rule (random, never zero), drawn on ``device``: a full-size SDXL
    has 2.6 G weights, which the CPU generator would take minutes over."""
    from demo.random_weights import _fill

    module.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.device(device):
        for name, p in sorted(module.named_parameters(), key=lambda kv: kv[0]):
            _fill(p, name, gen, 1.0)
        for name, b in sorted(module.named_buffers(), key=lambda kv: kv[0]):
            if b.is_floating_point() and b.numel() > 0 and not name.endswith("position_ids"):
                _fill(b, name, gen, 1.0)
    return module


def comfy_model(arch: str, unet: dict, dtype: torch.dtype, device: torch.device | None = None) -> Any:
    """ComfyUI's own SD1.5/SDXL model class with weights in ``dtype`` (uninitialised)."""
    import comfy.supported_models as sm

    model_config = (sm.SD15 if arch == "sd15" else sm.SDXL)(dict(unet))
    model_config.set_inference_dtype(dtype, None)
    return model_config.get_model({}, "", device=device)


def patcher(model: torch.nn.Module) -> Any:
    import comfy.model_management as mm
    import comfy.model_patcher

    return comfy.model_patcher.ModelPatcher(model, load_device=mm.get_torch_device(),
                                            offload_device=mm.unet_offload_device())


def fp32_twin(base: Any, arch: str, unet: dict, dev: torch.device) -> SimpleNamespace:
    """An fp32 copy of ``base`` (same weights, upcast) on ``dev``, shaped like a ModelPatcher for the references."""
    twin = comfy_model(arch, unet, torch.float32, device=dev)
    sd = base.model.diffusion_model.state_dict()
    twin.diffusion_model.load_state_dict({k: v.float() for k, v in sd.items()}, strict=True)
    twin.to(dev).requires_grad_(False)
    return SimpleNamespace(model=twin)


# --------------------------------------------------------------------------------------------- part A
class PartA:
    """The loader, reference-match and sampling tests, re-run on the device in one dtype."""

    def __init__(self, a: argparse.Namespace, table: Table, harness: Any, dev: torch.device, models_dir: Path) -> None:
        self.a, self.table, self.harness, self.dev, self.models_dir = a, table, harness, dev, models_dir
        import _models
        from injection import _setup

        self.m, self.s = _models, _setup
        self._saved: dict[str, tuple[str, Any]] = {}

    # models as the tests build them, with the weights rounded to ``dtype``
    def tiny_model(self, kind: str, dtype: torch.dtype) -> Any:
        """tests/_models.tiny_base_model's ComfyUI model (4 heads), uninitialised, weights in ``dtype``."""
        import comfy.supported_models as sm

        unet = dict(self.m.SD15_UNET if kind == "sd15" else self.m.SDXL_UNET)
        model_config = (sm.SD15 if kind == "sd15" else sm.SDXL)(unet)
        model_config.unet_config.pop("num_head_channels", None)
        model_config.unet_config.update({"num_heads": 4, "num_head_channels": -1})
        model_config.set_inference_dtype(dtype, None)
        return model_config.get_model({}, "")

    def tiny_base(self, kind: str, dtype: torch.dtype, seed: int = 1) -> Any:
        from demo.random_weights import randomize_

        model = self.tiny_model(kind, dtype)
        randomize_(model.diffusion_model, seed=seed)  # the values of tests/_models.py, rounded to dtype
        return patcher(model)

    def twin(self, base: Any, kind: str) -> SimpleNamespace:
        """An fp32 copy of ``base`` (its weights upcast) on the device, for the references."""
        twin = self.tiny_model(kind, torch.float32)
        sd = {k: v.float() for k, v in base.model.diffusion_model.state_dict().items()}
        twin.diffusion_model.load_state_dict(sd, strict=True)
        twin.to(self.dev).requires_grad_(False)
        return SimpleNamespace(model=twin)

    def bn_patcher(self, kind: str, dtype: torch.dtype) -> Any:
        return patcher(self.m.tiny_brushnet(kind, seed=2, dtype=dtype))

    def bn_reference_sd(self, bn: Any) -> dict:
        return {k: v.detach().float().to(self.dev) for k, v in bn.model.state_dict().items()}

    def vae(self) -> Any:
        import comfy.sd
        from demo.random_models import random_vae_state_dict

        if not hasattr(self, "_vae"):
            # fp32 VAE: the node and the reference must get the same conditioning latent
            self._vae = comfy.sd.VAE(sd=random_vae_state_dict(), dtype=torch.float32)
        return self._vae

    def reference(self, twin: Any, bn_sd: dict | None, kind: str, x: torch.Tensor, sigma: float, cfg: float,
                  positive: list, negative: list, cond: torch.Tensor | None, scale: float) -> torch.Tensor:
        """tests/injection/_setup.reference_denoised, run on the device in fp32."""
        with Precise(), torch.device(self.dev), torch.no_grad():
            return self.s.reference_denoised(twin, bn_sd, kind, x.to(self.dev).float(), sigma, cfg,
                                             to_dev(positive, self.dev), to_dev(negative, self.dev),
                                             cond.to(self.dev).float() if cond is not None else None, scale)

    def reference_euler(self, twin: Any, bn_sd: dict | None, kind: str, positive: list, negative: list,
                        cond: torch.Tensor | None, latent: torch.Tensor, steps: int, cfg: float,
                        seed: int) -> torch.Tensor:
        """tests/injection/test_sampling._reference_euler, on the device in fp32."""
        import comfy.sample
        import comfy.samplers

        ms = copy.deepcopy(twin.model.model_sampling).to("cpu")  # the schedule as the sampler computes it
        sigmas = comfy.samplers.calculate_sigmas(ms, "normal", steps).float().to(self.dev)
        noise = comfy.sample.prepare_noise(latent, seed).to(self.dev)
        x = noise * torch.sqrt(1.0 + sigmas[0] ** 2)
        for i in range(steps):
            den = self.reference(twin, bn_sd, kind, x, float(sigmas[i]), cfg, positive, negative, cond, 1.0)
            x = x + (x - den) / sigmas[i] * (sigmas[i + 1] - sigmas[i])
        return twin.model.process_latent_out(x)

    def limit(self, name: str, floor: float | None = None) -> float:
        eps = EPS[name]
        base = 1e-5 if name == "fp32" else 16 * eps
        return max(base, 4 * floor) if floor else base

    @staticmethod
    def limit_text(name: str, with_floor: bool) -> str:
        base = "1e-5" if name == "fp32" else f"16 eps = {fmt(16 * EPS[name])}"
        return f"max({base}, 4x plain)" if with_floor else base

    def status(self, err: float, lim: float, *tensors: torch.Tensor) -> str:
        if not finite(*tensors) or math.isnan(err):
            return "FAIL"
        return "ok" if err <= lim else "high"

    # ---- the checks
    def loader(self, name: str, kind: str) -> None:
        import comfy.model_management as mm
        from demo.random_models import random_brushnet, save_brushnet

        dtype = DTYPES[name]
        if kind not in self._saved:
            model = random_brushnet(self.m.TINY_BRUSHNET[kind], seed=21)
            rel = f"gpu_check_{kind}_fp32.safetensors"
            save_brushnet(model, self.models_dir / "brushnet" / rel)
            self._saved[kind] = (rel, {k: v.clone() for k, v in model.state_dict().items()})
        rel, expected = self._saved[kind]
        loader = self.harness.pack_module("nodes.loader")
        bn = loader.BrushNetLoader.execute(brushnet=rel, dtype=LOADER_NAMES[name]).args[0]
        loaded = bn.model.state_dict()
        same_keys = loaded.keys() == expected.keys()
        worst = max(float((loaded[k].cpu().double() - v.to(dtype).double()).abs().max()) for k, v in expected.items())
        exact = same_keys and all(torch.equal(loaded[k].cpu(), v.to(dtype)) for k, v in expected.items())
        dtypes = {p.dtype for p in bn.model.parameters()}
        mm.load_models_gpu([bn])
        devices = {p.device for p in bn.model.parameters()}
        managed = any(lm.model is bn for lm in mm.current_loaded_models)
        on_dev = devices == {self.dev} or all(d.type == self.dev.type for d in devices)
        ok = exact and dtypes == {dtype} and on_dev and managed and bn.model.kind == kind
        text = f"{fmt(worst)} ({'bit-exact' if exact else 'NOT exact'}), on {'/'.join(sorted(str(d) for d in devices))}"
        self.table.put("loader: cast once, placed by ComfyUI", name, kind, text, "ok" if ok else "FAIL", "0, device",
                       raw={"max_abs": worst, "exact": exact, "dtypes": [str(d) for d in dtypes],
                            "devices": [str(d) for d in devices], "managed": managed})
        if name == self.a.dtype_names[0]:
            picked = loader.pick_dtype("auto", mm.get_torch_device())
            self.table.put("loader: auto dtype on this device", "auto", kind, str(picked).replace("torch.", ""))
        del bn
        free_memory()

    def branch(self, name: str, kind: str) -> None:
        dtype = DTYPES[name]
        bn = self.m.tiny_brushnet(kind, seed=2, dtype=dtype).to(self.dev)
        sd = self.bn_reference_sd(SimpleNamespace(model=bn))
        g = torch.Generator().manual_seed(3)
        x, cond = torch.randn(1, 4, 9, 11, generator=g), torch.randn(1, 5, 9, 11, generator=g)
        t = torch.tensor([500.0])
        added = torch.randn(1, 2816, generator=g) if kind == "sdxl" else None
        with torch.no_grad():
            feats = bn(x.to(self.dev), t.to(self.dev), cond.to(self.dev),
                       added=added.to(self.dev) if added is not None else None, scale=1.0)
        with Precise(), torch.device(self.dev), torch.no_grad():
            down, mid, up = self.s.reference_brushnet(sd, x.to(self.dev), t.to(self.dev), cond.to(self.dev),
                                                      added=added.to(self.dev) if added is not None else None)
        ours = [*feats.down, feats.mid, *feats.up]
        ref = [*down, mid, *up]
        if len(ours) != len(ref):
            raise AssertionError(f"{len(ours)} features, reference has {len(ref)}")
        err = max(rel_err(o, r) for o, r in zip(ours, ref))
        lim = self.limit(name)
        self.table.put("branch alone vs reference", name, kind, fmt(err), self.status(err, lim, *ours),
                       self.limit_text(name, False), raw=err)
        del bn

    def one_step(self, name: str, kind: str) -> None:
        dtype = DTYPES[name]
        s = self.s
        base = self.tiny_base(kind, dtype)
        twin = self.twin(base, kind)
        bn = self.bn_patcher(kind, dtype)
        bn_sd = self.bn_reference_sd(bn)
        vae = self.vae()
        image, mask = s.image_and_mask()
        positive, negative = s.text_conds(kind)
        cond = s.conditioning_reference(vae, image, mask, kind)
        sigma, cfg = 3.0, 4.5
        errs, outs = {}, []
        for scale in (0.7, 1.0):
            model, pos, neg, latent = s.apply_node(base, vae, image, mask, bn, positive, negative, scale=scale)
            noise = torch.randn(latent["samples"].shape, generator=torch.Generator().manual_seed(0))
            x, got = s.one_step(model, pos, neg, latent["samples"], sigma, cfg)
            if not torch.equal(x.cpu(), noise * sigma):
                raise AssertionError("the sampler's input is not noise * sigma")
            want = self.reference(twin, bn_sd, kind, noise * sigma, sigma, cfg, positive, negative, cond, scale)
            errs[scale] = rel_err(got, want)
            outs.append(got)
        _, plain = s.one_step(base, positive, negative, latent["samples"], sigma, cfg)
        want_plain = self.reference(twin, None, kind, noise * sigma, sigma, cfg, positive, negative, None, 1.0)
        floor = rel_err(plain, want_plain)
        moved = rel_err(outs[-1], plain)  # guard: BrushNet must change the prediction
        lim = self.limit(name, floor)
        st = self.status(max(errs.values()), lim, *outs)
        if moved < 1e-2:
            st = "FAIL"
        self.table.put("one model call vs reference, scale 0.7 / 1.0", name, kind,
                       f"{fmt(errs[0.7])} / {fmt(errs[1.0])}", st, self.limit_text(name, True),
                       raw={"errors": errs, "brushnet_changes_prediction_by": moved})
        self.table.put("plain model call vs reference (dtype floor)", name, kind, fmt(floor),
                       "FAIL" if not finite(plain) else "", raw=floor)
        del base, twin, bn, bn_sd
        free_memory()

    def sampling(self, name: str, kind: str) -> None:
        dtype = DTYPES[name]
        s = self.s
        base = self.tiny_base(kind, dtype)
        twin = self.twin(base, kind)
        bn = self.bn_patcher(kind, dtype)
        bn_sd = self.bn_reference_sd(bn)
        vae = self.vae()
        image, mask = s.image_and_mask()
        positive, negative = s.text_conds(kind)
        model, pos, neg, latent = s.apply_node(base, vae, image, mask, bn, positive, negative)
        cond = s.conditioning_reference(vae, image, mask, kind)
        steps, cfg, seed = 3, 6.0, 11
        calls = s.count_forwards(bn)
        got = s.ksample(model, pos, neg, latent, steps=steps, cfg=cfg, seed=seed)
        want = self.reference_euler(twin, bn_sd, kind, positive, negative, cond, latent["samples"], steps, cfg, seed)
        err = rel_err(got, want)
        plain = s.ksample(base, positive, negative, latent, steps=steps, cfg=cfg, seed=seed)
        want_plain = self.reference_euler(twin, None, kind, positive, negative, None, latent["samples"], steps, cfg,
                                          seed)
        floor = rel_err(plain, want_plain)
        lim = self.limit(name, floor)
        self.table.put(f"KSampler {steps} steps vs reference Euler loop", name, kind, fmt(err),
                       self.status(err, lim, got), self.limit_text(name, True), raw=err)
        self.table.put(f"plain KSampler {steps} steps vs reference (dtype floor)", name, kind, fmt(floor),
                       "FAIL" if not finite(plain) else "", raw=floor)
        expected_calls = [1] * steps if kind == "sd15" else [2] * steps
        self.table.put("branch forwards per step (batch size)", name, kind, str(calls),
                       "ok" if calls == expected_calls else "FAIL", "SD1.5 [1]/step, SDXL [2]/step", raw=calls)
        del base, twin, bn, bn_sd, model
        free_memory()

    def run(self) -> None:
        with Precise():  # TF32 off for both sides: fp32 on the device must be as exact as on the CPU
            self._run()

    def _run(self) -> None:
        for name in self.a.dtype_names:
            for kind in KINDS:
                for check in (self.loader, self.branch, self.one_step, self.sampling):
                    part = {"loader": "loader: cast once, placed by ComfyUI", "branch": "branch alone vs reference",
                            "one_step": "one model call vs reference, scale 0.7 / 1.0",
                            "sampling": "KSampler 3 steps vs reference Euler loop"}[check.__name__]
                    guarded(self.table, part, name, kind, lambda c=check: c(name, kind))


# --------------------------------------------------------------------------------------------- part B
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


# --------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    t0 = time.perf_counter()
    cuda = torch.cuda.is_available()
    if not cuda and not a.cpu_smoke:
        msg = ("no CUDA device visible to this python (torch %s): nothing to check. "
               "Run it on the GPU machine, or with --cpu-smoke here." % torch.__version__)
        print(msg)
        a.out_dir.mkdir(parents=True, exist_ok=True)
        (a.out_dir / "gpu_check.md").write_text(f"## BrushEdit GPU check\n\n{msg}\n")
        return 2
    work = Path(tempfile.mkdtemp(prefix="brushedit_gpu_check_"))
    harness = boot(work / "models", cpu=a.cpu_smoke)
    import comfy.model_management as mm

    dev = mm.get_torch_device()
    if not a.cpu_smoke and dev.type != "cuda":
        print(f"ComfyUI picked {dev}, not CUDA: check comfy.cli_args (args.cpu) and the torch build")
        return 2
    try:
        import comfyui_version

        comfy_version = comfyui_version.__version__
    except Exception:  # noqa: BLE001
        comfy_version = "?"
    header = {"device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU ({platform.machine()})",
              "torch": torch.__version__, "comfyui": comfy_version, "python": platform.python_version(),
              "mode": "CPU smoke (tiny sizes: proves the code paths, numbers mean nothing)" if a.cpu_smoke
              else f"part B: {a.steps} steps x {a.repeat} interleaved repeats after a 2-step warm-up",
              "comfy_device": str(dev), "_t0": t0}
    table = Table(a.out_dir, header)
    log.info("[gpu_check] ComfyUI %s on %s (%s); booted in %.1f s", comfy_version, dev, header["device"],
             time.perf_counter() - t0)
    if not a.skip_tests:
        PartA(a, table, harness, dev, work / "models").run()
    if not a.skip_bench:
        PartB(a, table, harness, dev, t0).run()
    table.flush()
    md = table.markdown()
    print("\n" + md)
    print(f"written: {a.out_dir / 'gpu_check.md'} and gpu_check.json")
    return 1 if table.failed else 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    sys.exit(main())
