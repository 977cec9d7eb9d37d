"""GPU check of the inpaint tools' core (no ComfyUI): every tensor on CUDA, results equal to the CPU.

Run on a machine with a GPU from the repository root: ``python3 tests/image_tools/gpu_check_inpaint.py``.
Checks pre-fill (neutral, blur, OpenCV, random big-lama and MAT through spandrel), colour match,
region crops and stitch; prints one line per check and exits non-zero on a mismatch.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from brushnet_core import blend, inpaint_models, prefill, regions  # noqa: E402
from image_tools import _inpaint_models as im  # noqa: E402

FAILED: list[str] = []


def check(name: str, got: torch.Tensor, want: torch.Tensor, atol: float) -> None:
    err = float((got.detach().cpu().float() - want.detach().cpu().float()).abs().max())
    ok = err <= atol
    print(f"{'ok  ' if ok else 'FAIL'} {name}: max |gpu - cpu| = {err:.2e} (atol {atol})", flush=True)
    if not ok:
        FAILED.append(name)


def main() -> int:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    dev = torch.device(os.environ.get("GPU_CHECK_DEVICE", "cuda"))  # "cpu": a dry run of the script itself
    print(torch.__version__, torch.cuda.get_device_name(0) if dev.type == "cuda" else "cpu", flush=True)
    g = torch.Generator().manual_seed(0)
    ys, xs = torch.linspace(0, 1, 300).view(300, 1, 1), torch.linspace(0, 1, 400).view(1, 400, 1)
    image = torch.cat([ys.expand(300, 400, 1), xs.expand(300, 400, 1), (0.5 * (xs + ys)).expand(300, 400, 1)], -1)[None]
    image = (image + 0.05 * torch.rand(image.shape, generator=g)).clamp(0, 1)
    mask = torch.zeros(1, 300, 400)
    mask[0, 100:180, 150:260] = 1.0
    mask[0, 20:30, 20:30] = 1.0
    for method in ("neutral", "blur", "telea", "navier-stokes"):
        cpu = prefill.prefill(image, mask, method)
        gpu = prefill.prefill(image.to(dev), mask.to(dev), method)
        check(f"prefill {method}", gpu, cpu, 1e-4 if method in ("neutral", "blur") else 1.0 / 255 + 1e-6)
    full = prefill.prefill(image.to(dev), torch.ones(1, 300, 400, device=dev), "neutral")
    check("prefill neutral, full mask", full, torch.full_like(image, 0.5), 0)
    learned = (("lama", im.random_lama_state_dict), ("mat", im.random_mat_state_dict))
    for kind, make in learned if dev.type == "cuda" else ():
        model = inpaint_models.load_inpaint_model(make(seed=1), kind)
        kw = dict(model_size=model.size, model_square=model.square, model_multiple=model.multiple)
        t0 = time.time()
        cpu = prefill.prefill(image, mask, kind, model=model, **kw)
        t1 = time.time()
        model.descriptor.to(dev)
        gpu = prefill.prefill(image.to(dev), mask.to(dev), kind, model=model, **kw)
        torch.cuda.synchronize(dev)
        t2 = time.time()
        print(f"     {kind}: cpu {t1 - t0:.2f} s, gpu {t2 - t1:.2f} s (first call)", flush=True)
        if kind == "lama":
            check(f"prefill {kind} (random weights)", gpu, cpu, 2e-3)
        else:  # random-weight MAT is chaotic: 1e-6 of input noise, or a second GPU run, moves it by ~60%
            hole = mask[0] > 0.5
            same_outside = torch.equal(gpu[0][~hole.to(dev)].cpu(), image[0][~hole])
            ok = bool(torch.isfinite(gpu).all()) and same_outside and gpu.device.type == dev.type
            print(f"{'ok  ' if ok else 'FAIL'} prefill mat (random weights): ran on {gpu.device}, finite, outside "
                  f"the hole bit-identical: {same_outside}", flush=True)
            if not ok:
                FAILED.append("prefill mat")
    drifted = (image * torch.tensor([0.8, 0.85, 0.95]) + torch.tensor([0, 0, 0.05])).clamp(0, 1)
    check("colour match", blend.color_match_images(drifted.to(dev), image.to(dev), mask.to(dev), 16, 1.0),
          blend.color_match_images(drifted, image, mask, 16, 1.0), 1e-5)
    crops_cpu = regions.crop_regions(image, mask, 128, 128, mode="each", merge_distance=0)
    crops_gpu = regions.crop_regions(image.to(dev), mask.to(dev), 128, 128, mode="each", merge_distance=0)
    check("region crops", crops_gpu.images, crops_cpu.images, 1e-5)
    check("region origins", crops_gpu.origin.float(), crops_cpu.origin.float(), 0)
    out_cpu, _ = blend.stitch_inpaint(1 - crops_cpu.images, image, crops_cpu.masks, crops_cpu.origin, 10, 10.0, 1.0)
    out_gpu, _ = blend.stitch_inpaint(1 - crops_gpu.images, image.to(dev), crops_gpu.masks, crops_gpu.origin, 10,
                                      10.0, 1.0)
    check("stitch with colour match", out_gpu, out_cpu, 1e-4)
    print("FAILED: " + ", ".join(FAILED) if FAILED else "all GPU checks passed", flush=True)
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
