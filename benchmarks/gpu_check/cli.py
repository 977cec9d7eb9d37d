"""The GPU check's command line: parse the arguments, boot ComfyUI on the device, run parts A and B."""
from __future__ import annotations

import argparse
import logging
import os
import platform
import tempfile
import time
from pathlib import Path

import torch

from benchmarks.gpu_check.accuracy import PartA
from benchmarks.gpu_check.compare import DTYPES
from benchmarks.gpu_check.cost import PartB
from benchmarks.gpu_check.host import ROOT, boot
from benchmarks.gpu_check.report import Table

log = logging.getLogger("BrushEdit")
DESCRIPTION = "One prepared GPU check: BrushNet against the fp32 reference in each dtype, and its sampling cost."


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=DESCRIPTION)
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
